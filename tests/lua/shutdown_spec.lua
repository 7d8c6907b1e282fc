-- The shutdown ladder takes only the steps that can work, as --log-level
-- info tells them (real QEMU, TCG, no kernel: a running VM is SeaBIOS
-- waiting for a boot device, which does not act on the ACPI power button).
-- No timing is asserted here; bench/shutdown.lua measures the cases.
local core = require "vclaunch.core"
local bin = assert(os.getenv("VC_BIN"), "VC_BIN is not set")

-- Runs vclaunch --log-level info on a recipe; returns code, stdout and the
-- ladder's steps per VM ("vm step, vm step") and every stderr line.
local function run(recipe)
  local path = os.tmpname() .. ".lua"
  local f = assert(io.open(path, "w"))
  f:write([[
local vc = require "vclaunch"
local core = require "vclaunch.core"
-- Waits until QEMU's state letter is T (a signal is acted on when QEMU is
-- next scheduled): polled, bounded, as there is no event for it.
local function stopped(vm)
  vm.proc:kill(19)
  for _ = 1, 2000 do
    local f = assert(io.open("/proc/" .. vm.proc:pid() .. "/stat"))
    local s = f:read("a"):match("^%d+ %b() (%a)")
    f:close()
    if s == "T" then return end
    core.sleep(0.005)
  end
  error("QEMU did not stop")
end
]] .. recipe)
  f:close()
  local out, err = {}, {}
  local p = core.process{argv = {bin, "--accel", "tcg", "--log-level", "info", path},
    on_line = function(stream, line)
      local t = stream == "stdout" and out or err
      t[#t + 1] = line
    end}
  local status = p:wait(120)
  p:close()
  os.remove(path)
  local steps = {}
  for _, line in ipairs(err) do
    local vm, step = line:match("^vclaunch: ([%w-]+): shutdown: (%S+) %(")
    if vm then steps[#steps + 1] = vm .. " " .. step end
  end
  err = table.concat(err, "\n")
  eq(err:match("exit handler failed") == nil, true, err) -- cleanup ran
  return status.code, table.concat(out, "\n"), table.concat(steps, ", "), err
end

describe("vm:shutdown", function()
  it("sends a paused or never-started VM quit, no power button", function()
    local code, out, steps, err = run([[
local paused = vc.pod{name = "paused", memory = 128}:start()
paused:pause()
print(paused:status(), paused:shutdown{timeout = 30}.code)
local prelaunch = vc.pod{name = "prelaunch", memory = 128, freeze = true}:start()
print(prelaunch:status(), prelaunch:shutdown{timeout = 30}.code)
]])
    eq(code, 0, err)
    eq(out, "paused\t0\nprelaunch\t0")
    eq(steps, "paused quit, prelaunch quit", err)
  end)

  it("kills a SIGSTOPped QEMU at once, with no QMP step", function()
    local code, out, steps, err = run([[
local vm = vc.pod{name = "stopped", memory = 128}:start()
stopped(vm)
print(vm:shutdown{timeout = 30}.signal)
]])
    eq(code, 0, err)
    eq(out, "9")
    eq(steps, "stopped SIGKILL", err)
  end)

  it("ends the QMP steps when QEMU stops answering during the ladder", function()
    -- QEMU is stopped just before system_powerdown is sent: that step gets
    -- no reply; quit and SIGTERM are not tried.
    local code, out, steps, err = run([[
local vm = vc.pod{name = "late", memory = 128}:start()
local q = vm.qmp
-- the ladder calls self.qmp.execute(self.qmp, ...); the rest goes to q
vm.qmp = setmetatable({execute = function(_, cmd, ...)
  if cmd == "system_powerdown" then stopped(vm) end
  return q:execute(cmd, ...)
end}, {__index = function(_, k) return function(_, ...) return q[k](q, ...) end end})
print(vm:shutdown{timeout = 1}.signal)
]])
    eq(code, 0, err)
    eq(out, "9")
    eq(steps, "late system_powerdown, late SIGKILL", err)
    eq(err:match("late: shutdown: QMP did not answer system_powerdown") ~= nil, true, err)
  end)

  it("costs one step when the guest ignores the power button, and says so", function()
    local code, out, steps, err = run([[
local vm = vc.pod{name = "firmware", memory = 128}:start()
print(vm:status(), vm:shutdown{timeout = 1}.code)
]])
    eq(code, 0, err)
    eq(out, "running\t0")
    eq(steps, "firmware system_powerdown, firmware quit", err)
    eq(err:match("firmware: shutdown: the guest did not act on the power button within 1s") ~= nil,
       true, err)
  end)
end)
