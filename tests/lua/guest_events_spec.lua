-- What vclaunch tells outside its console, with the vclaunch binary and the
-- test guest: --events lines, NOTIFY_SOCKET, the console log kept in the
-- log directory, progress lines, and the VM name on echoed lines when two
-- VMs echo.
local core = require "vclaunch.core"
local vc = require "vclaunch"
local bin = assert(os.getenv("VC_BIN"), "VC_BIN is not set")
local listen = assert(os.getenv("VC_NOTIFY_LISTEN"), "VC_NOTIFY_LISTEN is not set")
local guest = os.getenv("VC_GUEST_DIR") or "build/guest"

local function tmpdir()
  local d = os.tmpname()
  os.remove(d)
  return d
end

-- The lines a command prints on stdout.
local function ls(dir)
  local names = {}
  local p = core.process{argv = {"ls", "-1", dir}, on_line = function(stream, line)
    if stream == "stdout" then names[#names + 1] = line end
  end}
  p:wait()
  p:close()
  return names
end

local function read(path)
  local f = assert(io.open(path))
  local s = f:read("a")
  f:close()
  return s
end

local function pod_src(name, params)
  return ([[vc.pod{name = %q, memory = 256, ready = "VCLAUNCH%%-GUEST%%-READY",
  kernel = {path = %q, initrd = %q, params = %q}}]]):format(name, guest .. "/vmlinuz",
    guest .. "/initrd.img", params or "")
end

local function recipe(body)
  local path = os.tmpname() .. ".lua"
  local f = assert(io.open(path, "w"))
  f:write('local vc = require "vclaunch"\n', body)
  f:close()
  return path
end

-- Every process a case starts; killed when the case ends, so a failing
-- case leaves no vclaunch (and thus no QEMU) running.
local case, launched = dofile(assert(os.getenv("VC_SOURCE_DIR"), "VC_SOURCE_DIR is not set") ..
                              "/tests/lua/cases.lua")

-- Starts argv; returns a handle whose wait_line(stream, pattern, timeout)
-- awaits a line of stdout or stderr, and whose finish() waits for the exit.
local function start(argv)
  local h = {stdout = {}, stderr = {}, cond = core.cond()}
  h.p = core.process{argv = argv, on_line = function(stream, line)
    local t = h[stream]
    t[#t + 1] = line
    h.cond:signal()
  end}
  launched[#launched + 1] = h.p
  function h.wait_line(stream, pattern, timeout)
    local deadline = core.now() + timeout
    while true do
      for _, l in ipairs(h[stream]) do
        if l:find(pattern) then return l end
      end
      local left = deadline - core.now()
      if left <= 0 then
        error(("no %s line matching %q within %gs; stdout:\n%s\nstderr:\n%s"):format(stream,
          pattern, timeout, table.concat(h.stdout, "\n"), table.concat(h.stderr, "\n")), 2)
      end
      h.cond:wait(left)
    end
  end
  function h.finish()
    local st = h.p:wait()
    h.p:close()
    return st
  end
  return h
end

local function vclaunch(extra, path, env)
  local argv = {}
  if env then argv = {"env", env} end
  for _, a in ipairs{bin, "--accel", "tcg", "--runtime-dir", tmpdir(), "--stop-timeout", "20"} do
    argv[#argv + 1] = a
  end
  for _, a in ipairs(extra) do argv[#argv + 1] = a end
  argv[#argv + 1] = path
  return start(argv)
end

describe("vclaunch's events, logs and notifications", function()
  case("a booted guest stopped by SIGTERM: --events, NOTIFY_SOCKET, the log, progress", function()
    local logdir, evfile, sock = tmpdir(), os.tmpname(), tmpdir() .. ".sock"
    os.remove(evfile)
    local listener = start{listen, sock, "2"}
    listener.wait_line("stdout", "^listening$", 10)
    local path = recipe("return " .. pod_src("evguest") .. "\n")
    local h = vclaunch({"--log-dir", logdir, "--events", evfile, "--log-level", "info"}, path,
                       "NOTIFY_SOCKET=" .. sock)
    h.wait_line("stdout", "VCLAUNCH%-GUEST%-READY", 120)
    -- READY=1 came when QMP was up, before the guest booted
    eq(listener.wait_line("stdout", "READY=1", 1):match("^READY=1 STATUS=evguest: QMP ready$") ~= nil,
       true, listener.stdout[1])
    h.p:kill(15)
    local st = h.finish()
    os.remove(path)
    eq(st.code, 143, "exit status\n" .. table.concat(h.stderr, "\n"))
    eq(listener.finish().code, 0, "the listener got two datagrams")
    eq(listener.stdout[3]:match("^STOPPING=1") ~= nil, true, listener.stdout[3])

    -- --events: JSON lines in order, each with its time and the VM's name
    local lifecycle, qmp, last_time = {}, {}, ""
    for line in read(evfile):gmatch("[^\n]+") do
      local ev, err = core.json_decode(line)
      eq(type(ev), "table", ("%s: %s"):format(line, err))
      eq(ev.vm, "evguest", line)
      eq(ev.time:match("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.%d%d%d%d%d%dZ$") ~= nil, true, line)
      eq(ev.time >= last_time, true, "times in order: " .. line)
      last_time = ev.time
      local list = ev.type == "qmp" and qmp or lifecycle
      list[#list + 1] = ev.event
      if ev.event == "exited" then eq(ev.code, 0, line) end
      if ev.event == "starting" then
        eq(ev.log:sub(1, #logdir + 1), logdir .. "/", line)
        eq(math.type(ev.pid), "integer", line)
      end
      if ev.event == "shutdown-step" then eq(ev.step, "system_powerdown", line) end
      if ev.event == "SHUTDOWN" then eq(ev.data.reason, "guest-shutdown", line) end
    end
    eq(table.concat(lifecycle, " "), "starting qmp-ready guest-ready stopping shutdown-step exited")
    eq(table.concat(qmp, " "):match("POWERDOWN.*SHUTDOWN") ~= nil, true, table.concat(qmp, " "))
    os.remove(evfile)

    -- the console log outlives the VM, named after it, in a 0700 directory
    local files = ls(logdir)
    eq(#files, 1, table.concat(files, " "))
    eq(files[1]:match("^evguest%-%d%d%d%d%d%d%d%d%-%d%d%d%d%d%d%-%d+%.log$") ~= nil, true, files[1])
    local log = read(logdir .. "/" .. files[1])
    eq(log:match("VCLAUNCH%-GUEST%-READY\n") ~= nil, true, log)
    eq(log:match("VCLAUNCH%-GUEST%-POWEROFF\n") ~= nil, true, log)
    local mode = start{"stat", "-c", "%a", logdir}
    mode.finish()
    eq(mode.stdout[1], "700", "log dir mode")
    os.remove(logdir .. "/" .. files[1])
    os.remove(logdir)

    -- progress: one line per step, on stderr (a pipe here: --log-level info asks)
    local err = table.concat(h.stderr, "\n")
    for _, want in ipairs{"evguest: QEMU started, pid %d+, runtime dir %S+, log " .. logdir:gsub("%p", "%%%0"),
                          "evguest: QMP ready in %d+%.%d%d s", "evguest: guest ready in %d+%.%d%d s",
                          "evguest: shutdown: system_powerdown %(20s%), a second signal kills",
                          "evguest: QEMU exited %(status 0%)"} do
      eq(err:match("vclaunch: " .. want) ~= nil, true, want .. " in:\n" .. err)
    end
  end)

  case("two VMs echoing: every line carries its VM's name once both run", function()
    local logdir = tmpdir()
    local path = recipe(([[
vc.options.echo_console = true
local a = %s:start()
local b = %s:start()
a:wait()
b:wait()
]]):format(pod_src("vma", "vc.cmd=poweroff"), pod_src("vmb", "vc.cmd=poweroff")))
    local h = vclaunch({"--log-dir", logdir}, path)
    local st = h.finish()
    os.remove(path)
    eq(st.code, 0, table.concat(h.stderr, "\n"))
    local out = h.stdout
    local first
    for i, l in ipairs(out) do
      if l:find("^vm[ab]| ") then first = i break end
    end
    eq(first ~= nil, true, "a prefixed line:\n" .. table.concat(out, "\n"))
    for i = first, #out do
      eq(out[i]:find("^vm[ab]| ") ~= nil, true, "line " .. i .. ": " .. out[i])
    end
    for _, want in ipairs{"vma| VCLAUNCH-GUEST-READY", "vmb| VCLAUNCH-GUEST-READY",
                          "vma| VCLAUNCH-GUEST-POWEROFF", "vmb| VCLAUNCH-GUEST-POWEROFF"} do
      local seen = false
      for _, l in ipairs(out) do seen = seen or l == want end
      eq(seen, true, want)
    end
    -- each VM's own log has its lines, without the prefix
    local files = ls(logdir)
    eq(#files, 2, table.concat(files, " "))
    for _, f in ipairs(files) do
      local log = read(logdir .. "/" .. f)
      eq(log:match("\nVCLAUNCH%-GUEST%-POWEROFF\n") ~= nil, true, f .. ":\n" .. log)
      eq(log:match("vm[ab]| ") == nil, true, f)
      os.remove(logdir .. "/" .. f)
    end
    os.remove(logdir)
  end)

  case("a guest panic: a panicked line, GUEST_PANICKED, and exited with panicked", function()
    local evfile = os.tmpname()
    os.remove(evfile)
    local path = recipe("return " .. pod_src("panicky", "vc.cmd=panic") .. "\n")
    local h = vclaunch({"--events", evfile}, path)
    local st = h.finish()
    os.remove(path)
    eq(st.code, 79, "the CLI's panic status\n" .. table.concat(h.stderr, "\n"))
    local seen, exited = {}, nil
    for line in read(evfile):gmatch("[^\n]+") do
      local ev = assert(core.json_decode(line))
      seen[#seen + 1] = ev.event
      if ev.event == "exited" then exited = ev end
    end
    os.remove(evfile)
    local all = table.concat(seen, " ")
    eq(all:match("GUEST_PANICKED.*panicked.*exited$") ~= nil, true, all)
    eq(exited.code, 1, "QEMU's status")
    eq(exited.panicked, true, "exited says panicked")
  end)

  case("NOTIFY_SOCKET in the abstract namespace; no progress on a pipe by default", function()
    local sock = ("@vclaunch-test-%d-%d"):format(core.getpid(), math.random(1 << 30))
    local listener = start{listen, sock, "2"}
    listener.wait_line("stdout", "^listening$", 10)
    local logdir = tmpdir()
    local path = recipe('return vc.pod{name = "frozen", memory = 128, freeze = true}\n')
    local h = vclaunch({"--log-dir", logdir}, path, "NOTIFY_SOCKET=" .. sock)
    listener.wait_line("stdout", "^READY=1", 60)
    h.p:kill(15)
    eq(h.finish().code, 143)
    os.remove(path)
    eq(listener.finish().code, 0)
    eq(listener.stdout[3]:match("^STOPPING=1") ~= nil, true, listener.stdout[3])
    eq(table.concat(h.stderr, "\n"), "vclaunch: stopped by signal 15")
    -- a guest that printed nothing still has its (empty) log
    local files = ls(logdir)
    eq(#files, 1)
    eq(read(logdir .. "/" .. files[1]), "")
    os.remove(logdir .. "/" .. files[1])
    os.remove(logdir)
  end)

  case("--dry-run writes no events file and makes no log directory", function()
    local logdir, evfile = tmpdir(), tmpdir()
    local path = recipe("return " .. pod_src("dry") .. "\n")
    local h = vclaunch({"--dry-run", "--log-dir", logdir, "--events", evfile}, path)
    eq(h.finish().code, 0, table.concat(h.stderr, "\n"))
    os.remove(path)
    eq(io.open(logdir) == nil, true, "no log dir")
    eq(io.open(evfile) == nil, true, "no events file")
  end)
end)

describe("log file names", function()
  it("stay inside the log directory whatever the name holds", function()
    local logs = require "vclaunch.logs"
    local dir = tmpdir()
    vc.options.log_dir = dir
    for _, name in ipairs{"../../etc/passwd", "..", "a/b", ".hidden"} do
      local p = logs.path(name)
      eq(p:sub(1, #dir + 1), dir .. "/", p)
      eq(p:sub(#dir + 2):find("/") == nil, true, p)
      eq(p:sub(#dir + 2, #dir + 2) ~= ".", true, p)
    end
    vc.options.log_dir = nil
    os.remove(dir)
  end)
end)
