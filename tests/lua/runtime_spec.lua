-- The runtime seen through VMs (real QEMU, -S, TCG): nothing leaks across
-- starts, nothing waits for ever, a recipe that fails or stops the loop
-- leaves no QEMU behind, and SIGPIPE never kills vclaunch.
local vc = require "vclaunch"
local core = require "vclaunch.core"
local bin = assert(os.getenv("VC_BIN"), "VC_BIN is not set")

vc.options.accel = "tcg"

local function tmpdir()
  local d = os.tmpname()
  os.remove(d)
  return d
end

-- Open fds of this process.
local fds = dofile(assert(os.getenv("VC_SOURCE_DIR"), "VC_SOURCE_DIR is not set") ..
                 "/tests/lua/fdcount.lua")

local alive = dofile(assert(os.getenv("VC_SOURCE_DIR"), "VC_SOURCE_DIR is not set") ..
                   "/tests/lua/alive.lua")

-- The entries of dir (ls -A), or {} when it does not exist.
local function entries(dir)
  local names = {}
  local p = core.process{argv = {"ls", "-A", dir}, on_line = function(stream, line)
    if stream == "stdout" then names[#names + 1] = line end
  end}
  p:wait(10)
  p:close()
  return names
end

-- Runs vclaunch on a recipe text; argv may hold "RECIPE". prefix: argv
-- before vclaunch (prlimit ...). Returns code, stdout, stderr.
local function run(args, recipe, prefix)
  local path = os.tmpname() .. ".lua"
  local f = assert(io.open(path, "w"))
  f:write(recipe)
  f:close()
  local argv = {}
  for _, a in ipairs(prefix or {}) do argv[#argv + 1] = a end
  argv[#argv + 1] = bin
  for _, a in ipairs(args) do argv[#argv + 1] = a == "RECIPE" and path or a end
  local out, err = {}, {}
  local p = core.process{argv = argv, on_line = function(stream, line)
    local t = stream == "stdout" and out or err
    t[#t + 1] = line
  end}
  local status = p:wait(120)
  p:close()
  os.remove(path)
  return status.code, table.concat(out, "\n"), table.concat(err, "\n")
end

local POD = 'vc.pod{name = "rt", memory = 128, freeze = true}'

describe("VMs in one process", function()
  it("keep the fd count flat and are collected after they exit", function()
    local gone = setmetatable({}, {__mode = "k"})
    local function cycle()
      local vm = vc.pod{name = "cycle", memory = 128, freeze = true}:start()
      gone[vm] = true
      vm:execute("quit")
      eq(vm:wait(30).code, 0)
    end
    cycle() -- the first start loads what stays loaded
    collectgarbage()
    local before = fds()
    for _ = 1, 20 do cycle() end
    collectgarbage()
    collectgarbage()
    eq(fds(), before, "open fds after 20 VMs")
    local left = 0
    for _ in pairs(gone) do left = left + 1 end
    eq(left, 0, "VM objects still referenced")
  end)

  it("start 60 VMs one after another under a limit of 64 open files", function()
    local code, out, err = run({"--accel", "tcg", "RECIPE"}, [[
local vc = require "vclaunch"
for i = 1, 60 do
  local vm = vc.pod{name = "lim", memory = 128, freeze = true}:start()
  vm:execute("quit")
  vm:wait(30)
end
print("60 done")
]], {"prlimit", "--nofile=64", "--"})
    eq(err, "")
    eq(out, "60 done")
    eq(code, 0)
  end)

  it("keep a bounded ring of events and count what they drop", function()
    local vm = vc.pod{name = "ev", memory = 128, freeze = true}:start()
    for i = 1, 2500 do vm:_event("X", {i = i}, {seconds = 0, microseconds = 0}) end
    local resumed = vc.spawn(function() return vm:wait_event("RESUME", {timeout = 30}) end)
    vc.sleep(0)
    vm:execute("cont")
    local ev = resumed:wait()
    eq(ev.event, "RESUME")
    local kept = vm:events()
    eq(#kept, vc.EVENTS_KEPT or 1000, "events kept")
    eq(vm.events_dropped, 2501 - #kept, "events dropped")
    eq(kept[#kept].event, "RESUME")
    eq(kept[1].data.i, 2501 - #kept + 1)
    vm:execute("quit")
    vm:wait(30)
  end)

  it("survive a QMP write to a QEMU that was just killed (no SIGPIPE)", function()
    for _ = 1, 5 do
      local vm = vc.pod{name = "pipe", memory = 128, freeze = true}:start()
      local pid = vm.proc:pid()
      vm.proc:kill(9)
      -- Without yielding (the loop must not see the exit yet), until the
      -- kernel has closed QEMU's end of the socket: a zombie.
      repeat
        local f = io.open("/proc/" .. pid .. "/stat")
        local state = f and f:read("a"):match("^%d+ %b() (%a)")
        if f then f:close() end
      until state == "Z" or not f
      local ok, e = pcall(vm.qmp.execute, vm.qmp, "query-status")
      if not ok then
        eq(e.kind == "disconnected" or e.kind == "usage", true, tostring(e))
      end
      eq(vm:wait(30).signal, 9)
    end
  end)

  it("fail a command pending when QEMU dies with disconnected", function()
    local vm = vc.pod{name = "pending", memory = 128, freeze = true}:start()
    vm.proc:kill(19) -- SIGSTOP: QEMU reads nothing, answers nothing
    local t = vc.spawn(function() return select(2, pcall(vm.execute, vm, "query-status", nil, 30)) end)
    vc.sleep(0.05)
    eq(t:status(), "running", "the command is pending")
    vm.proc:kill(9)
    local e = t:wait(30)
    eq(e.kind, "disconnected", tostring(e))
    eq(vm:wait(30).signal, 9)
  end)

  it("go down the shutdown ladder when a <close> scope ends", function()
    local vm
    do
      local v <close> = vc.pod{name = "closing", memory = 128, freeze = true}:start()
      vm = v
      eq(vm:status(), "prelaunch")
    end
    eq(vm.exit and vm.exit.code, 0, "quit (the guest never ran, so no powerdown)")
    eq(vm.dir, nil, "runtime dir removed")
  end)
end)

describe("waiting calls outside a task", function()
  it("start raises usage before creating anything", function()
    local base = tmpdir()
    vc.options.runtime_dir = base
    local ok, e
    local w <close> = core.on_signal("USR1", function()
      ok, e = pcall(function() return vc.pod{name = "out", memory = 128}:start() end)
    end)
    local pid = io.open("/proc/self/stat"):read("a"):match("^%d+")
    local p = core.process{argv = {"kill", "-USR1", pid}}
    p:wait(10)
    p:close()
    while ok == nil do core.sleep(0.01) end
    vc.options.runtime_dir = nil
    eq(ok, false)
    eq(e.kind, "usage")
    eq(e.message, "start waits, so it must run in a vclaunch task (vclaunch.spawn)")
    eq(#entries(base), 0, "nothing created under the runtime dir")
  end)
end)

describe("the CLI", function()
  it("stops a failing recipe's spawned VM and exits 65", function()
    local rundir = tmpdir()
    local t0 = core.now()
    local code, out, err = run({"--accel", "tcg", "--runtime-dir", rundir, "--stop-timeout", "5",
                                "RECIPE"}, [[
local vc = require "vclaunch"
local started = vc.spawn(function()
  local vm = ]] .. POD .. [[:start()
  print(vm.proc:pid())
  return vm
end)
local vm = started:wait()
vc.spawn(function() vm:wait() end)
error("boom")
]])
    eq(code, 65)
    eq(err:match("boom$") ~= nil, true, err)
    eq(alive(out), false, "QEMU " .. out .. " is gone")
    eq(core.now() - t0 < 20, true, "took " .. (core.now() - t0) .. "s")
    eq(#entries(rundir), 0, "runtime dirs left: " .. table.concat(entries(rundir), " "))
  end)

  it("closes its Lua state under a running VM when the recipe stops the loop", function()
    local rundir = tmpdir()
    local code, out, err = run({"--accel", "tcg", "--runtime-dir", rundir, "RECIPE"}, [[
local vc = require "vclaunch"
local core = require "vclaunch.core"
local vm = ]] .. POD .. [[:start()
print(vm.proc:pid())
core.stop()
vc.sleep(100)
]])
    eq(err, "")
    eq(code, 0)
    eq(alive(out), false, "QEMU " .. out .. " is gone")
    eq(#entries(rundir), 0, "runtime dirs left")
  end)

  it("--dry-run stops the recipe at pod:start() and prints its command", function()
    local code, out, err = run({"--dry-run", "RECIPE"}, [[
local vc = require "vclaunch"
local vm = vc.pod{name = "drystart", memory = 128, accel = "tcg"}:start()
vm:execute("quit")
error("not reached")
]])
    eq(err, "")
    eq(code, 0)
    eq(out:match("^qemu%-system%-x86_64 %-name drystart ") ~= nil, true, out)
  end)

  it("skips the shutdown steps that cannot work, and says each step at info", function()
    local code, out, err = run({"--accel", "tcg", "--log-level", "info", "RECIPE"}, [[
local vc = require "vclaunch"
local paused = vc.pod{name = "never-ran", memory = 128, freeze = true}:start()
print("paused", paused:shutdown{timeout = 5}.code)
local stopped = vc.pod{name = "stopped", memory = 128, freeze = true}:start()
stopped.proc:kill(19) -- SIGSTOP: its monitor answers nothing
print("stopped", stopped:shutdown{timeout = 5}.signal)
]])
    eq(code, 0, err)
    eq(out, "paused\t0\nstopped\t9")
    local steps = {}
    for vm, step in err:gmatch("vclaunch: ([%w-]+): shutdown: (%S+) %(") do
      steps[#steps + 1] = vm .. " " .. step
    end
    eq(table.concat(steps, ", "), "never-ran quit, stopped SIGKILL")
  end)

  it("exits with a number the recipe returns, after stopping its VMs", function()
    local rundir = tmpdir()
    local code, out, err = run({"--accel", "tcg", "--runtime-dir", rundir, "RECIPE"}, [[
local vc = require "vclaunch"
local vm = ]] .. POD .. [[:start()
print(vm.proc:pid())
return 7
]])
    eq(err, "")
    eq(code, 7)
    eq(alive(out), false, "QEMU " .. out .. " is gone")
    eq(#entries(rundir), 0, "runtime dirs left")
  end)

  it("stops on SIGHUP as on SIGTERM", function()
    local rundir = tmpdir()
    local path = os.tmpname() .. ".lua"
    local f = assert(io.open(path, "w"))
    f:write("local vc = require 'vclaunch'\nlocal vm = " .. POD .. ":start()\n" ..
            "print(vm.proc:pid())\nio.stdout:flush()\nvm:wait()\n")
    f:close()
    local out, err, c = {}, {}, core.cond()
    local p = core.process{argv = {bin, "--accel", "tcg", "--runtime-dir", rundir,
                                   "--stop-timeout", "5", path},
      on_line = function(stream, line)
        local t = stream == "stdout" and out or err
        t[#t + 1] = line
        c:signal()
      end}
    while #out == 0 do c:wait(30) end
    p:kill(1)
    local st = p:wait(60)
    p:close()
    os.remove(path)
    eq(st.code, 129, table.concat(err, "\n"))
    eq(table.concat(err, "\n"):match("stopped by signal 1") ~= nil, true, table.concat(err, "\n"))
    eq(alive(out[1]), false, "QEMU is gone")
    eq(#entries(rundir), 0, "runtime dirs left")
  end)

  it("--help states the exit codes", function()
    local code, out = run({"--help"}, "")
    eq(code, 0)
    for _, n in ipairs{"\n  64 +usage error", "\n  65 +the recipe failed",
                       "\n  69 +QEMU could not be started", "\n  79 +the guest panicked"} do
      eq(out:find(n) ~= nil, true, n)
    end
  end)
end)
