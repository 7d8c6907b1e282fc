-- Signals seen from outside the vclaunch binary, with a real guest:
-- SIGINT/SIGTERM run the shutdown ladder and leave nothing behind; a
-- SIGKILLed vclaunch leaves no QEMU behind.
local core = require "vclaunch.core"
local bin = assert(os.getenv("VC_BIN"), "VC_BIN is not set")
local guest = os.getenv("VC_GUEST_DIR") or "build/guest"

local function exists(path)
  local f = io.open(path)
  if f then f:close() end
  return f ~= nil
end

-- The one VM directory under rundir (named NAME-XXXXXX), or nil.
local function vm_dir(rundir)
  local names = {}
  local p = core.process{argv = {"ls", "-1", rundir}, on_line = function(stream, line)
    if stream == "stdout" then names[#names + 1] = line end
  end}
  p:wait()
  p:close()
  return names[1] and (rundir .. "/" .. names[1])
end

local function tmpdir()
  local d = os.tmpname()
  os.remove(d)
  return d
end

-- The guest waits for the ACPI power button (no vc.cmd); body: the recipe
-- after the pod is built, or nil to return it to the CLI.
local function recipe(name, body)
  local path = os.tmpname() .. ".lua"
  local f = assert(io.open(path, "w"))
  f:write(([[
local vc = require "vclaunch"
local pod = vc.pod{name = %q, memory = 256,
                   kernel = {path = %q, initrd = %q}}
]]):format(name, guest .. "/vmlinuz", guest .. "/initrd.img"))
  f:write(body or "return pod\n")
  f:close()
  return path
end

-- Starts vclaunch and returns a handle whose wait_line(pattern, timeout)
-- awaits a stdout line.
-- Every vclaunch a case starts; killed when the case ends, so a failing
-- case leaves no vclaunch (and thus no QEMU) running.
local case, launched = dofile(assert(os.getenv("VC_SOURCE_DIR"), "VC_SOURCE_DIR is not set") ..
                              "/tests/lua/cases.lua")
local alive = dofile(os.getenv("VC_SOURCE_DIR") .. "/tests/lua/alive.lua")

local function launch(path, rundir, extra)
  local h = {out = {}, err = {}, cond = core.cond()}
  local argv = {bin, "--accel", "tcg", "--runtime-dir", rundir, "--stop-timeout", "20"}
  for _, a in ipairs(extra or {}) do argv[#argv + 1] = a end
  argv[#argv + 1] = path
  h.p = core.process{argv = argv, on_line = function(stream, line)
    local t = stream == "stdout" and h.out or h.err
    t[#t + 1] = line
    h.cond:signal()
  end}
  launched[#launched + 1] = h.p
  function h.wait_line(pattern, timeout)
    local deadline = core.now() + timeout
    while true do
      for _, l in ipairs(h.out) do
        if l:find(pattern) then return l end
      end
      local left = deadline - core.now()
      if left <= 0 then
        error(("no line matching %q within %gs; stdout:\n%s\nstderr:\n%s"):format(pattern,
          timeout, table.concat(h.out, "\n"), table.concat(h.err, "\n")), 2)
      end
      h.cond:wait(left)
    end
  end
  function h.saw(pattern)
    for _, l in ipairs(h.out) do
      if l:find(pattern) then return true end
    end
    return false
  end
  return h
end

-- Waits for marker, checks the VM's runtime dir exists, and returns it.
local function running(h, rundir, marker)
  h.wait_line(marker, 120)
  local dir = vm_dir(rundir)
  eq(dir and exists(dir .. "/pid"), true, "runtime dir while running")
  return dir
end

-- Sends sig to vclaunch and returns its exit status once it has exited.
local function stop(h, sig, path)
  h.p:kill(sig)
  local status = h.p:wait()
  h.p:close()
  os.remove(path)
  return status
end

describe("vclaunch and signals", function()
  case("SIGINT runs the ladder: the guest powers off and nothing is left", function()
    local rundir, path = tmpdir(), recipe("sigint")
    local h = launch(path, rundir)
    local dir = running(h, rundir, "VCLAUNCH%-GUEST%-READY")
    local status = stop(h, 2, path)
    eq(status.code, 130, "exit status\n" .. table.concat(h.err, "\n"))
    -- the first step (system_powerdown) ended the VM: the guest saw it
    eq(h.saw("VCLAUNCH%-GUEST%-POWEROFF"), true, "guest powered off")
    eq(table.concat(h.err, "\n"):match("stopped by signal 2") ~= nil, true,
       table.concat(h.err, "\n"))
    eq(exists(dir), false, "runtime dir removed")
    eq(vm_dir(rundir), nil, "nothing left in the runtime dir")
    os.remove(rundir)
  end)

  case("SIGTERM stops a VM the recipe is still driving", function()
    local rundir = tmpdir()
    local path = recipe("sigterm", [[
local vm = pod:start()
vm.console:expect("VCLAUNCH%-GUEST%-READY", 120)
print("RECIPE-SAW-READY")
io.stdout:flush()
vm.console:expect("never printed", 600)
]])
    local h = launch(path, rundir)
    local dir = running(h, rundir, "RECIPE%-SAW%-READY")
    local status = stop(h, 15, path)
    eq(status.code, 143, "exit status\n" .. table.concat(h.err, "\n"))
    eq(exists(dir), false, "runtime dir removed")
    os.remove(rundir)
  end)

  case("leaves no QEMU behind when vclaunch is SIGKILLed", function()
    local rundir, path = tmpdir(), recipe("sigkill")
    local h = launch(path, rundir)
    local dir = running(h, rundir, "VCLAUNCH%-GUEST%-READY")
    local f = assert(io.open(dir .. "/pid"))
    local pid = assert(tonumber(f:read("l")), "pidfile holds a pid")
    f:close()
    eq(exists("/proc/" .. pid .. "/stat"), true, "QEMU runs")
    eq(stop(h, 9, path).signal, 9)
    -- QEMU is not our child, so no exit event reaches us: poll /proc with a
    -- deadline. A zombie waiting for its new parent to reap it counts as gone.
    local deadline = core.now() + 10
    while alive(pid) and core.now() < deadline do core.sleep(0.02) end
    eq(alive(pid), false, "QEMU " .. pid .. " still alive")
    -- a SIGKILLed vclaunch cannot clean up: its runtime dir stays until the
    -- next vclaunch that starts a VM in the same runtime dir sweeps it
    eq(exists(dir .. "/pid"), true, "stale runtime dir")
    local next_path = recipe("sweeper", [[
local vm = vc.pod{name = "sweeper", memory = 128, freeze = true}:start()
vm:execute("quit")
vm:wait()
]])
    local n = launch(next_path, rundir, {"--log-level", "info"})
    eq(n.p:wait().code, 0, table.concat(n.err, "\n"))
    n.p:close()
    os.remove(next_path)
    eq(n.err[1], "vclaunch: removed 1 stale runtime dir(s)")
    eq(exists(dir), false, "stale runtime dir swept")
    eq(vm_dir(rundir), nil, "nothing left")
    os.remove(rundir)
  end)

  case("a closed stdout stops the console echo, not vclaunch (no SIGPIPE)", function()
    -- `vclaunch recipe.lua | head -2`: head exits after two lines, while the
    -- guest still prints (vc.cmd=info: some 40 lines, each from a command
    -- the guest runs, so lines keep coming long after head has gone; the
    -- hello guest prints only three, and the third may reach the pipe
    -- before head exits). vclaunch goes on to the guest's own poweroff.
    local rundir = tmpdir()
    local path = recipe("echo", ([[
return vc.pod{name = "echo", memory = 256,
              kernel = {path = %q, initrd = %q, params = "vc.cmd=info"}}
]]):format(guest .. "/vmlinuz", guest .. "/initrd.img"))
    local out, err = {}, {}
    local p = core.process{argv = {"sh", "-c",
      '{ "$0" --accel tcg --runtime-dir "$1" "$2"; echo "vclaunch status $?" >&2; } | head -2',
      bin, rundir, path},
      on_line = function(stream, line)
        local t = stream == "stdout" and out or err
        t[#t + 1] = line
      end}
    launched[#launched + 1] = p
    eq(p:wait(180).code, 0)
    p:close()
    local text = table.concat(err, "\n")
    eq(#out, 2, "lines head printed")
    eq(text:match("vclaunch status 0") ~= nil, true, text)
    eq(text:match("vclaunch: the console is no longer echoed: stdout: ") ~= nil, true, text)
    eq(vm_dir(rundir), nil, "nothing left")
    os.remove(rundir)
    os.remove(path)
  end)
end)
