-- Shutdown benchmark: what vm:shutdown{} costs in each state a VM can be in,
-- against `quit` sent by hand (the least a VM that need not be asked can
-- cost). One command:
--
--   build/vclaunch --accel tcg bench/shutdown.lua [RUNS [TIMEOUT [GUEST_DIR]]]
--
-- RUNS (default 5) runs of each case, each with a fresh QEMU (q35, 128 MiB,
-- TCG); TIMEOUT (default 2) is the ladder's step timeout. The cases:
--   quit          -S VM; vm:execute("quit") and vm:wait(): the reference
--   never-started -S VM (prelaunch); vm:shutdown{timeout = TIMEOUT}
--   paused        no kernel: SeaBIOS runs, finds nothing to boot and waits;
--                 vm:pause(), then vm:shutdown
--   sigstopped    -S VM whose QEMU got SIGSTOP; vm:shutdown
--   stopped-late  no kernel, running; QEMU gets SIGSTOP inside the ladder,
--                 after query-status, just before system_powerdown is sent
--   no-acpi-os    no kernel, running: SeaBIOS does not act on the ACPI power
--                 button (no OS handles the SCI), so system_powerdown is
--                 ignored; vm:shutdown
-- With GUEST_DIR (a test guest: vmlinuz, initrd.img; tests/guest/build.sh):
--   guest         the test guest booted to its ready marker; it acts on the
--                 power button (vm:shutdown)
--   guest-acpi=off the same kernel with acpi=off: it ignores the button
-- The cases take turns within each run. Prints, per case, the median and
-- range of the wall time of the call (ms), and the ladder's steps as
-- --log-level info names them (captured here).
local vc = require "vclaunch"
local core = require "vclaunch.core"

local runs = math.tointeger(tonumber(arg[1] or "5"))
local timeout = tonumber(arg[2] or "2")
local guest = arg[3]
if not runs or runs < 1 or not timeout or timeout <= 0 then
  error("usage: shutdown.lua [RUNS [TIMEOUT [GUEST_DIR]]]", 0)
end

-- The ladder's info lines of one shutdown, "quit" or "system_powerdown,
-- quit": io.stderr is swapped for a sink while the call runs.
local function steps_of(fn)
  local level, stderr, lines = vc.options.log_level, io.stderr, {}
  vc.options.log_level = "info"
  io.stderr = {write = function(self, ...)
    lines[#lines + 1] = table.concat({...})
    return self
  end}
  local ok, e = pcall(fn)
  io.stderr, vc.options.log_level = stderr, level
  if not ok then error(e, 0) end
  local steps = {}
  for _, line in ipairs(lines) do
    local step = line:match("shutdown: (%S+) %(")
    if step then steps[#steps + 1] = step end
    -- "...: shutdown: the guest did not act on the power button within 2s"
    if line:match("shutdown: .+ within [%d.]+s\n?$") then steps[#steps] = steps[#steps] .. "(ignored)" end
    if line:match("shutdown: QMP did not answer") then steps[#steps] = steps[#steps] .. "(no reply)" end
  end
  return table.concat(steps, ",")
end

local function pod(name, fields)
  local t = {name = name, memory = 128, accel = "tcg"}
  for k, v in pairs(fields or {}) do t[k] = v end
  return vc.pod(t)
end

local function guest_pod(name, params)
  return pod(name, {memory = 256, kernel = {path = guest .. "/vmlinuz",
                                            initrd = guest .. "/initrd.img", params = params}})
end

local function shutdown(vm)
  local steps = steps_of(function() vm:shutdown{timeout = timeout} end)
  return steps
end

-- Sends SIGSTOP and waits until /proc/PID/stat says T (the signal is acted
-- on when the kernel next schedules QEMU; no event tells it).
local function stop(vm)
  vm.proc:kill(19)
  for _ = 1, 1000 do
    local f = io.open("/proc/" .. vm.proc:pid() .. "/stat")
    local s = f:read("a"):match("^%d+ %b() (%a)")
    f:close()
    if s == "T" then return end
    core.sleep(0.001)
  end
end

-- Each case: prepare() -> vm (not timed), then the timed call.
local cases = {
  {"quit", function() return pod("sd-quit", {freeze = true}):start() end,
   function(vm)
     pcall(vm.execute, vm, "quit") -- QEMU may close the socket before it replies
     vm:wait()
     return "quit (by hand)"
   end},
  {"never-started", function() return pod("sd-prelaunch", {freeze = true}):start() end, shutdown},
  {"paused", function()
     local vm = pod("sd-paused"):start()
     vm:pause()
     assert(vm:status() == "paused")
     return vm
   end, shutdown},
  {"sigstopped", function()
     local vm = pod("sd-stopped", {freeze = true}):start()
     stop(vm)
     return vm
   end, shutdown},
  {"stopped-late", function()
     local vm = pod("sd-late"):start()
     local q = vm.qmp -- the ladder calls self.qmp.execute(self.qmp, ...)
     vm.qmp = setmetatable({execute = function(_, cmd, ...)
       if cmd == "system_powerdown" then stop(vm) end
       return q:execute(cmd, ...)
     end}, {__index = function(_, k) return function(_, ...) return q[k](q, ...) end end})
     return vm
   end, shutdown},
  {"no-acpi-os", function()
     local vm = pod("sd-seabios"):start()
     assert(vm:status() == "running")
     return vm
   end, shutdown},
}
if guest then
  local function booted(name, params)
    return function()
      local vm = guest_pod(name, params):start()
      vm.console:expect("VCLAUNCH%-GUEST%-READY", 120)
      return vm
    end
  end
  cases[#cases + 1] = {"guest", booted("sd-guest"), shutdown}
  cases[#cases + 1] = {"guest-acpi=off", booted("sd-noacpi", "acpi=off"), shutdown}
end

local function median(t)
  local s = table.move(t, 1, #t, 1, {})
  table.sort(s)
  local n = #s
  return n % 2 == 1 and s[(n + 1) // 2] or (s[n // 2] + s[n // 2 + 1]) / 2
end

io.write(("# %s, %d runs per case, step timeout %gs\n"):format(os.date("!%Y-%m-%d %H:%M UTC"),
                                                              runs, timeout))
io.write(("%-15s %10s %19s  %s\n"):format("case", "median ms", "range ms", "steps"))
-- The cases take turns within each run, so a change in the machine's load
-- falls on all of them.
local times, steps = {}, {}
for _, case in ipairs(cases) do times[case], steps[case] = {}, {} end
for r = 1, runs do
  for _, case in ipairs(cases) do
    local vm = case[2]()
    local t0 = core.now()
    local s = case[3](vm)
    times[case][r] = (core.now() - t0) * 1000
    steps[case][s] = true
    if not vm.exit then error(case[1] .. ": QEMU still runs", 0) end
  end
end
for _, case in ipairs(cases) do
  local t, names = times[case], {}
  for s in pairs(steps[case]) do names[#names + 1] = s end
  table.sort(names)
  table.sort(t)
  io.write(("%-15s %10.1f %9.1f-%-9.1f  %s\n"):format(case[1], median(t), t[1], t[#t],
                                                      table.concat(names, " | ")))
end
