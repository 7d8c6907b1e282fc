-- The binding against real QEMU: vclaunch creates and listens on the QMP
-- socket, hands QEMU the listening fd, connects, and drives it from tasks.
local core = require "vclaunch.core"

local qemu = "/usr/bin/qemu-system-x86_64"
if not io.open(qemu) then
  print("SKIP: " .. qemu .. " is not installed")
  os.exit(77)
end

local function tmpdir()
  local p = os.tmpname()
  os.remove(p)
  return p
end

local function start_qemu(dir)
  local sock_path = dir .. "-qmp.sock"
  local listener = core.listen(sock_path)
  local argv = {qemu}
  local devs = {
    {"name", {name = "lua,vm"}},
    {"machine", {type = "q35", accel = "tcg"}},
    {"memory", {size = "128M"}},
    {"chardev", {backend = "socket", id = "qmp", fd = 3, server = true, wait = false}},
    {"mon", {chardev = "qmp"}},
    {"flags", {nodefaults = true, no_user_config = true, freeze = true}},
  }
  for _, d in ipairs(devs) do
    local a = core.emit(d[1], d[2])
    table.move(a, 1, #a, #argv + 1, argv)
  end
  argv[#argv + 1] = "-display"
  argv[#argv + 1] = "none"
  local lines = {}
  local proc = core.process{argv = argv, fds = {listener:fileno()},
                            on_line = function(stream, line) lines[#lines + 1] = line end}
  listener:close()
  return proc, sock_path, lines
end

describe("QEMU through the binding", function()
  it("negotiates, executes, sees events and errors, and quits", function()
    local result = {}
    core.spawn(function()
      local proc, sock = start_qemu(tmpdir())
      local qmp = core.qmp_connect(sock, 30)
      os.remove(sock)
      local events = {}
      qmp:on_event(function(name, data) events[#events + 1] = name end)
      result.version = qmp:version()
      result.name = qmp:execute("query-name").name
      result.status = qmp:execute("query-status").status
      qmp:execute("cont")
      result.running = qmp:execute("query-status").running
      -- two commands in flight from two tasks
      local a = core.spawn(function() return qmp:execute("query-status").status end)
      local b = core.spawn(function() return qmp:execute("query-name").name end)
      result.a, result.b = a:wait(), b:wait()
      local ok, err = pcall(function() return qmp:execute("device_del", {id = "nope"}) end)
      result.err = err
      qmp:execute("stop")
      result.events = table.concat(events, ",")
      qmp:execute("quit")
      result.exit = proc:wait()
      local ok2, err2 = pcall(qmp.execute, qmp, "query-status")
      result.after = err2
      qmp:close()
      proc:close()
    end)
    core.run()
    eq(result.version.major, 7, "QEMU major version")
    eq(result.name, "lua,vm")
    eq(result.status, "prelaunch")
    eq(result.running, true)
    eq(result.a, "running")
    eq(result.b, "lua,vm")
    eq(result.err.kind, "qmp")
    eq(result.err.class, "DeviceNotFound")
    eq(result.err.command, "device_del")
    eq(tostring(result.err):match("qemu_spec.lua:%d+: device_del: Device 'nope' not found %(DeviceNotFound%)") ~= nil,
       true, "message " .. tostring(result.err))
    eq(result.events:match("^RESUME,STOP") ~= nil, true, "events " .. result.events)
    eq(result.exit.code, 0, "exit code")
    eq(result.after.kind, "disconnected", "after quit: " .. tostring(result.after))
  end)

  it("fails pending commands with disconnected when QEMU is killed", function()
    local result = {}
    core.spawn(function()
      local proc, sock = start_qemu(tmpdir())
      local qmp = core.qmp_connect(sock, 30)
      os.remove(sock)
      -- Freeze QEMU so that the command stays unanswered, let the pending
      -- task send it (timers of equal timeout fire in start order), then
      -- kill QEMU: the command must fail with disconnected.
      proc:kill(19) -- SIGSTOP
      local pending = core.spawn(function()
        return pcall(qmp.execute, qmp, "query-status")
      end)
      core.sleep(0)
      proc:kill(9)
      local ok, err = pending:wait()
      result.ok, result.err = ok, err
      result.exit = proc:wait()
      qmp:close()
      proc:close()
    end)
    core.run()
    eq(result.exit.signal, 9, "killed by SIGKILL")
    eq(result.ok, false, "pending command failed")
    eq(result.err.kind, "disconnected", tostring(result.err))
  end)

  it("reports QEMU's own message when it refuses an option", function()
    local result = {}
    core.spawn(function()
      local proc = core.process{argv = {qemu, "-machine", "no-such-machine"}}
      result.exit = proc:wait()
      result.tail = proc:stderr_tail()
      proc:close()
    end)
    core.run()
    eq(result.exit.code, 1)
    eq(result.tail:match("unsupported machine type") ~= nil, true, result.tail)
  end)

  it("refuses a process argv that is not all strings, and a missing program", function()
    local e = expect_error(core.process, {argv = {qemu, "-S", {}}})
    eq(e.kind, "usage")
    eq(tostring(e):match("argv%[3%] is not a string$") ~= nil, true, tostring(e))
    e = expect_error(core.process, {argv = {}})
    eq(tostring(e):match("argv is empty") ~= nil, true, tostring(e))
    e = expect_error(core.process, {argv = {"vclaunch-no-such-program"}})
    eq(e.kind, "process")
    eq(tostring(e):match("cannot start vclaunch%-no%-such%-program: No such file or directory$")
       ~= nil, true, tostring(e))
  end)
end)
