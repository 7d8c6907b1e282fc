-- `vclaunch ls`, `stop` and `qmp` against VMs held by another vclaunch
-- process (the owner), with real QEMU: vm.json, the second QMP monitor,
-- the owner's control socket.
local core = require "vclaunch.core"
local bin = assert(os.getenv("VC_BIN"), "VC_BIN is not set")
local guest = os.getenv("VC_GUEST_DIR") or "build/guest"

local function exists(path)
  local f = io.open(path)
  if f then f:close() end
  return f ~= nil
end

local function tmpdir()
  local d = os.tmpname()
  os.remove(d)
  return d
end

-- Every process a case starts; killed when the case ends, so a failing
-- case leaves no vclaunch (and so no QEMU) behind.
local case, launched = dofile(assert(os.getenv("VC_SOURCE_DIR"), "VC_SOURCE_DIR is not set") ..
                              "/tests/lua/cases.lua")

-- Starts a process; h.wait_line(pattern, timeout) awaits a stdout line and
-- returns it, h.finish(timeout) its exit status once it has ended.
local function start(argv)
  local h = {out = {}, err = {}, cond = core.cond()}
  h.p = core.process{argv = argv, on_line = function(stream, line)
    local t = stream == "stdout" and h.out or h.err
    t[#t + 1] = line
    h.cond:signal()
  end}
  launched[#launched + 1] = h.p
  function h.text() return "stdout:\n" .. table.concat(h.out, "\n") .. "\nstderr:\n" .. table.concat(h.err, "\n") end
  function h.wait_line(pattern, timeout)
    local deadline = core.now() + timeout
    local seen = 0
    while true do
      for i = seen + 1, #h.out do
        if h.out[i]:find(pattern) then return h.out[i] end
      end
      seen = #h.out
      local left = deadline - core.now()
      if left <= 0 then error(("no line matching %q within %gs\n%s"):format(pattern, timeout, h.text()), 2) end
      h.cond:wait(left)
    end
  end
  function h.finish(timeout)
    local st = h.p:wait(timeout)
    return st
  end
  return h
end

-- vclaunch [--runtime-dir rundir] args...: {code =, out =, err =}
local function vclaunch(rundir, ...)
  local h = start({bin, "--runtime-dir", rundir, ...})
  local st = h.finish(120)
  return {code = st.code, out = table.concat(h.out, "\n"), err = table.concat(h.err, "\n")}
end

-- The owner: a vclaunch whose recipe starts count frozen VMs (-S) named
-- name, says OWNER-READY with their runtime dirs, and then, for the first
-- VM, waits for a RESUME event (which the test causes through `vclaunch
-- qmp ... cont`), asks its own QMP session for the status, waits for the
-- VMs to exit and tells how each ended.
local function owner(rundir, name, count)
  local path = os.tmpname() .. ".lua"
  local f = assert(io.open(path, "w"))
  f:write(([[
local vc = require "vclaunch"
local vms = {}
for i = 1, %d do
  vms[i] = vc.pod{name = %q, memory = 128, kernel = {path = %q, initrd = %q}}:start{freeze = true}
end
local dirs = {}
for i, vm in ipairs(vms) do dirs[i] = vm.dir end
print("OWNER-READY " .. table.concat(dirs, " "))
io.stdout:flush()
local resumed = pcall(vms[1].wait_event, vms[1], "RESUME", {timeout = 600})
if resumed then
  print("OWNER-QMP " .. vms[1]:status())
  io.stdout:flush()
end
for _, vm in ipairs(vms) do
  local st = vm:wait()
  print("OWNER-EXIT " .. (st.code and ("code " .. st.code) or ("signal " .. st.signal)))
  io.stdout:flush()
end
]]):format(count or 1, name, guest .. "/vmlinuz", guest .. "/initrd.img"))
  f:close()
  local h = start({bin, "--accel", "tcg", "--runtime-dir", rundir, "--log-level", "info", path})
  h.recipe = path
  local line = h.wait_line("^OWNER%-READY ", 120)
  h.dirs = {}
  for d in line:gmatch("%S+") do h.dirs[#h.dirs + 1] = d end
  table.remove(h.dirs, 1)
  return h
end

local function pid_of(dir)
  local f = assert(io.open(dir .. "/pid"))
  local pid = tonumber(f:read("l"))
  f:close()
  return pid
end

local alive = dofile(assert(os.getenv("VC_SOURCE_DIR"), "VC_SOURCE_DIR is not set") ..
                   "/tests/lua/alive.lua")

-- The runtime dir holds nothing (the owner removed its VM dirs).
local function empty(rundir)
  local names = {}
  local p = core.process{argv = {"ls", "-A", rundir}, on_line = function(stream, line)
    if stream == "stdout" then names[#names + 1] = line end
  end}
  p:wait()
  p:close()
  return #names == 0, table.concat(names, " ")
end

describe("vclaunch ls, stop and qmp", function()
  case("ls --json, vm.json and qmp see a VM another vclaunch holds; stop runs its ladder", function()
    local rundir = tmpdir()
    local h = owner(rundir, "held")
    local dir = h.dirs[1]
    local qemu = pid_of(dir)

    -- vm.json: what the owner wrote before QEMU started, and QEMU's pid
    local f = assert(io.open(dir .. "/vm.json"))
    local info = assert(core.json_decode(f:read("a")))
    f:close()
    eq(info.name, "held")
    eq(info.dir, dir)
    eq(info.vclaunch_pid, h.p:pid())
    eq(info.qemu_pid, qemu)
    eq(type(info.started), "string")
    eq(info.started:match("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ$") ~= nil, true, info.started)
    eq(math.type(info.started_epoch), "integer")
    eq(os.date("!%Y-%m-%dT%H:%M:%SZ", info.started_epoch), info.started)
    eq(info.argv[1]:match("qemu%-system") ~= nil, true, info.argv[1])
    -- the console log file (in the runtime dir, or the log directory)
    eq(type(info.log) == "string" and info.log:match("^/.*held.*%.log$") ~= nil, true, tostring(info.log))
    eq(info.qmp_user, dir .. "/qmp-user.sock")
    eq(info.ctl, dir .. "/ctl.sock")
    local joined = table.concat(info.argv, " ")
    eq(joined:match("qmp%-user%.sock") ~= nil, true, joined)

    -- ls --json: the VM with its state from QMP and both pids
    local r = vclaunch(rundir, "ls", "--json")
    eq(r.code, 0, r.err)
    local list = assert(core.json_decode(r.out), r.out)
    eq(#list, 1, r.out)
    eq(list[1].name, "held")
    eq(list[1].state, "prelaunch") -- started with -S
    eq(list[1].vclaunch_pid, h.p:pid())
    eq(list[1].qemu_pid, qemu)
    eq(list[1].dir, dir)
    eq(math.type(list[1].uptime), "integer")
    -- the table for people
    r = vclaunch(rundir, "ls")
    eq(r.code, 0, r.err)
    eq(r.out:match("\nheld%s+prelaunch%s+" .. h.p:pid() .. "%s+" .. qemu .. "%s") ~= nil, true, r.out)

    -- qmp: the reply's return as JSON, through the second monitor
    r = vclaunch(rundir, "qmp", "held", "query-status")
    eq(r.code, 0, r.err)
    local st = assert(core.json_decode(r.out), r.out)
    eq(st.status, "prelaunch")
    eq(st.running, false)
    -- arguments, and a QMP error on stderr with exit 1
    r = vclaunch(rundir, "qmp", "held", "qom-get", '{"path": "/machine", "property": "type"}')
    eq(r.code, 0, r.err)
    eq(core.json_decode(r.out):match("machine") ~= nil, true, r.out)
    r = vclaunch(rundir, "qmp", "held", "no-such-command")
    eq(r.code, 1, r.out)
    eq(r.out, "")
    eq(r.err:match("no%-such%-command") ~= nil and r.err:match("CommandNotFound") ~= nil, true, r.err)
    -- an empty array comes back as [] (query-hotpluggable-cpus has entries; query-iothreads none)
    r = vclaunch(rundir, "qmp", "held", "query-iothreads")
    eq(r.code, 0, r.err)
    eq(r.out, "[]")

    -- the owner's own QMP session still works: the RESUME our cont causes
    -- reaches it, and it asks for the status on its own connection
    r = vclaunch(rundir, "qmp", "held", "cont")
    eq(r.code, 0, r.err)
    eq(r.out, "{}")
    eq(h.wait_line("^OWNER%-QMP ", 60), "OWNER-QMP running")

    -- stop: the owner runs its ladder and the VM goes; stop returns then
    local t0 = core.now()
    r = vclaunch(rundir, "stop", "held", "--timeout", "5")
    eq(r.code, 0, r.err)
    eq(exists(dir), false, "runtime dir gone when stop returns")
    eq(h.wait_line("^OWNER%-EXIT", 30):match("^OWNER%-EXIT") ~= nil, true)
    local status = h.finish(30)
    eq(status.code, 0, h.text())
    local err = table.concat(h.err, "\n")
    eq(err:match("held: stop requested from outside %(5 s a step%)") ~= nil, true, err)
    eq(err:match("held: shutdown: ") ~= nil, true, err)
    eq(core.now() - t0 < 30, true, "stop took " .. (core.now() - t0) .. " s")
    eq(alive(qemu), false, "QEMU gone")
    eq((empty(rundir)), true, select(2, empty(rundir)))
    r = vclaunch(rundir, "ls", "--json")
    eq(r.code, 0, r.err)
    eq(r.out, "[]")
    os.remove(h.recipe)
    os.remove(rundir)
  end)

  case("stop --kill kills QEMU at once; a name two VMs share is refused, a runtime dir is not", function()
    local rundir = tmpdir()
    local h = owner(rundir, "twin", 2)
    local a, b = h.dirs[1], h.dirs[2]
    local qa, qb = pid_of(a), pid_of(b)

    local r = vclaunch(rundir, "stop", "twin", "--kill")
    eq(r.code, 1)
    eq(r.err:match("2 running VMs are named 'twin'") ~= nil, true, r.err)
    eq(r.err:find(a, 1, true) ~= nil and r.err:find(b, 1, true) ~= nil, true, r.err)
    eq(alive(qa) and alive(qb), true, "both QEMUs still run")
    r = vclaunch(rundir, "stop", "nobody")
    eq(r.code, 1)
    eq(r.err:match("no running VM named 'nobody'") ~= nil, true, r.err)

    r = vclaunch(rundir, "stop", a, "--kill")
    eq(r.code, 0, r.err)
    eq(alive(qa), false, "killed QEMU gone")
    eq(exists(a), false, "its runtime dir gone")
    eq(alive(qb), true, "the other QEMU runs")
    eq(h.wait_line("^OWNER%-EXIT", 30), "OWNER-EXIT signal 9")

    -- the remaining one: the name is unique again
    r = vclaunch(rundir, "stop", "twin", "--timeout", "5")
    eq(r.code, 0, r.err)
    eq(alive(qb), false)
    eq(h.finish(30).code, 0, h.text())
    eq((empty(rundir)), true, select(2, empty(rundir)))
    os.remove(h.recipe)
    os.remove(rundir)
  end)
end)
