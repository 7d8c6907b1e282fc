-- The subcommands that see and stop VMs other vclaunch processes run:
--   vclaunch ls [--json]
--   vclaunch stop NAME [--kill] [--timeout S]
--   vclaunch qmp NAME COMMAND [JSON-ARGS]
-- They find the VMs through the runtime dirs under the runtime directory
-- (--runtime-dir, or the default), as each owner wrote them
-- (vclaunch.runinfo): a dir whose owner lock is free (its vclaunch is gone)
-- is not a running VM and is not shown.
local core = require "vclaunch.core"
local runinfo = require "vclaunch.runinfo"

local M = {}

-- Exit codes of the subcommands.
local OK, FAILED, USAGE = 0, 1, 64

-- How long ls waits for a VM's monitor to answer query-status.
local STATE_TIMEOUT = 2

local function say(cmd, fmt, ...)
  io.stderr:write("vclaunch ", cmd, ": ", fmt:format(...), "\n")
end

local function read_info(dir)
  local f = io.open(dir .. "/" .. runinfo.FILE, "rb")
  if not f then return nil end
  local text = f:read("a")
  f:close()
  local t = core.json_decode(text)
  return type(t) == "table" and t or nil
end

-- The running VMs under the runtime directory, sorted by runtime dir: each
-- the owner's vm.json (or what the dir name tells, when it has none yet),
-- with dir set. Also -> the runtime directory.
local function running(runtime_dir)
  local entries, base = core.rundir_list(runtime_dir)
  table.sort(entries, function(a, b) return a.path < b.path end)
  local vms = {}
  for _, e in ipairs(entries) do
    if e.owned then
      local info = read_info(e.path) or {name = e.path:match("([^/]+)%-%w%w%w%w%w%w$")}
      info.dir = e.path
      vms[#vms + 1] = info
    end
  end
  return vms, base
end

-- The one running VM that name means: a VM name, or a runtime dir path
-- (anything with a "/"). nil and a message when none or several match.
local function find(runtime_dir, name)
  local vms, base = running(runtime_dir)
  local hits = {}
  for _, vm in ipairs(vms) do
    if name:find("/", 1, true) then
      if vm.dir == name:gsub("/+$", "") then hits[#hits + 1] = vm end
    elseif vm.name == name then
      hits[#hits + 1] = vm
    end
  end
  if #hits == 1 then return hits[1] end
  if #hits == 0 then return nil, ("no running VM named '%s' under %s"):format(name, base) end
  local lines = {("%d running VMs are named '%s'; name one by its runtime dir:"):format(#hits, name)}
  for _, vm in ipairs(hits) do
    lines[#lines + 1] = ("  %s (vclaunch pid %s)"):format(vm.dir, tostring(vm.vclaunch_pid))
  end
  return nil, table.concat(lines, "\n")
end

-- Runs fn in a task on the loop and returns its result (the subcommands'
-- waiting calls need a task).
local function in_task(fn)
  local ok, r1, r2
  core.spawn(function() ok, r1, r2 = pcall(fn) end)
  core.run()
  if not ok then error(r1, 0) end
  return r1, r2
end

-- QMP run state of a VM through its second monitor, "unknown" when it
-- does not answer in time.
local function state_of(vm)
  if type(vm.qmp_user) ~= "string" then return "unknown" end
  local ok, q = pcall(core.qmp_connect, vm.qmp_user, STATE_TIMEOUT)
  if not ok then return "unknown" end
  local ok2, st = pcall(q.execute, q, "query-status", nil, STATE_TIMEOUT)
  q:close()
  return ok2 and st.status or "unknown"
end

local function duration(s)
  if not s then return "-" end
  if s < 60 then return ("%ds"):format(s) end
  if s < 3600 then return ("%dm%02ds"):format(s // 60, s % 60) end
  if s < 86400 then return ("%dh%02dm"):format(s // 3600, s % 3600 // 60) end
  return ("%dd%02dh"):format(s // 86400, s % 86400 // 3600)
end

local function ls(opts)
  local vms = running(opts.runtime_dir)
  -- every monitor is asked at once: one that does not answer costs
  -- STATE_TIMEOUT, not STATE_TIMEOUT per VM
  local tasks = {}
  for i, vm in ipairs(vms) do
    tasks[i] = core.spawn(function() vm.state = state_of(vm) end)
  end
  for _, t in ipairs(tasks) do t:wait() end
  local now = os.time()
  local rows = {}
  for _, vm in ipairs(vms) do
    local epoch = math.type(vm.started_epoch) == "integer" and vm.started_epoch or nil
    rows[#rows + 1] = {
      name = vm.name, state = vm.state, vclaunch_pid = vm.vclaunch_pid,
      qemu_pid = vm.qemu_pid, started = vm.started,
      uptime = epoch and math.max(0, now - epoch) or nil,
      dir = vm.dir, log = vm.log, qmp = vm.qmp_user,
    }
  end
  if opts.json then -- an array, one VM a line
    local lines = {}
    for i, r in ipairs(rows) do lines[i] = core.json_encode(r) end
    io.stdout:write(#lines == 0 and "[]\n" or ("[\n" .. table.concat(lines, ",\n") .. "\n]\n"))
    return OK
  end
  local fmt = "%-16s %-12s %8s %8s %8s  %s\n"
  io.stdout:write(fmt:format("NAME", "STATE", "VCLAUNCH", "QEMU", "UPTIME", "RUNTIME DIR"))
  for _, r in ipairs(rows) do
    io.stdout:write(fmt:format(r.name or "?", r.state, tostring(r.vclaunch_pid or "-"),
                               tostring(r.qemu_pid or "-"), duration(r.uptime), r.dir))
  end
  return OK
end

-- The QEMU pid of vm, checked: the pidfile QEMU wrote says the same, and
-- that process runs the argv vclaunch started QEMU with. nil and why not.
local function qemu_pid(vm)
  local pid = vm.qemu_pid
  if math.type(pid) ~= "integer" then return nil, "QEMU has not been started yet" end
  local f = io.open(vm.dir .. "/pid")
  local written = f and tonumber(f:read("l"))
  if f then f:close() end
  if written ~= pid then
    return nil, ("vm.json names QEMU pid %d but the pidfile %s"):format(pid,
      written and ("names " .. written) or "is missing")
  end
  f = io.open("/proc/" .. pid .. "/cmdline", "rb")
  local cmdline = f and f:read("a")
  if f then f:close() end
  if cmdline ~= table.concat(vm.argv or {}, "\0") .. "\0" then
    return nil, ("process %d does not run this VM's QEMU command line"):format(pid)
  end
  return pid
end

-- Waits, at most timeout seconds, until the owner has let go of vm (its
-- runtime dir is gone): a held "wait" request ends then. true, or false
-- and why.
local function gone(vm, line, timeout)
  local ok, reply = pcall(core.ctl_request, vm.ctl or (vm.dir .. "/" .. runinfo.CTL), line, timeout)
  if ok then
    if reply:match("^error") then return false, reply:gsub("\n+$", "") end
    return true
  end
  local e = reply
  -- no control socket there any more: the owner has let go
  if type(e) == "table" and (e.code == "ENOENT" or e.code == "ECONNREFUSED") then
    local f = io.open(vm.dir .. "/" .. runinfo.FILE)
    if not f then return true end
    f:close()
    return false, ("the vclaunch that owns %s (pid %s) does not take requests: %s"):format(
      vm.name, tostring(vm.vclaunch_pid), e.message)
  end
  if type(e) == "table" and e.kind == "timeout" then
    return false, ("%s is still running after %g s"):format(vm.name, timeout)
  end
  return false, tostring(e)
end

local function stop(opts, args)
  local name = args[1]
  if not name or args[2] then return nil, "stop takes one NAME" end
  local t = opts.timeout or 10
  local vm, why = find(opts.runtime_dir, name)
  if not vm then say("stop", "%s", why) return FAILED end
  if opts.kill then
    local pid, bad = qemu_pid(vm)
    if not pid then say("stop", "%s: not killed: %s", name, bad) return FAILED end
    local killed, err = core.kill(pid, 9)
    if not killed and err ~= "ESRCH" then
      say("stop", "%s: cannot kill QEMU (pid %d): %s", name, pid, err)
      return FAILED
    end
    local ok, msg = gone(vm, "wait", t)
    if not ok then say("stop", "%s: killed QEMU (pid %d), but %s", name, pid, msg) return FAILED end
    return OK
  end
  -- The ladder has four steps of t seconds each, and its first QMP
  -- question may take t too.
  local ok, msg = gone(vm, ("stop %g"):format(t), 5 * t + 5)
  if not ok then say("stop", "%s", msg) return FAILED end
  return OK
end

local function qmp(opts, args)
  local name, command, json = args[1], args[2], args[3]
  if not command or args[4] then return nil, "qmp takes NAME COMMAND [JSON-ARGS]" end
  local cargs
  if json then
    local err
    cargs, err = core.json_decode(json)
    if type(cargs) ~= "table" or (next(cargs) ~= nil and cargs[1] ~= nil) then
      return nil, ("qmp: JSON-ARGS must be a JSON object, not %s"):format(err or json)
    end
  end
  local vm, why = find(opts.runtime_dir, name)
  if not vm then say("qmp", "%s", why) return FAILED end
  local okc, q = pcall(core.qmp_connect, vm.qmp_user or (vm.dir .. "/" .. runinfo.USER_QMP), 10)
  if not okc then say("qmp", "%s: cannot reach the VM's monitor: %s", name, tostring(q)) return FAILED end
  local ok, r = pcall(q.execute, q, command, cargs, opts.timeout or 30)
  q:close()
  if not ok then
    local msg = type(r) == "table" and r.message or tostring(r)
    say("qmp", "%s: %s", name, msg)
    return FAILED
  end
  io.stdout:write(core.json_encode(r, opts.pretty), "\n")
  return OK
end

local run = {ls = ls, stop = stop, qmp = qmp}

--- Runs subcommand word with the arguments argv[first..]; opts holds the
--- options given before the word (runtime_dir). Returns the exit code.
function M.main(word, argv, first, opts)
  local o = {runtime_dir = opts.runtime_dir}
  local args = {}
  local flags = {ls = {json = true}, stop = {kill = true, timeout = true},
                 qmp = {pretty = true, timeout = true}}
  local i = first
  while i <= #argv do
    local a = argv[i]
    local key, value = a:match("^%-%-([%w-]+)=(.*)$")
    key = key or a:match("^%-%-([%w-]+)$")
    if key == "runtime-dir" or (key and flags[word][key]) then
      if key == "runtime-dir" or key == "timeout" then
        if not value then i = i + 1 value = argv[i] end
        if key == "timeout" then
          value = tonumber(value)
          if not value or value <= 0 then
            io.stderr:write("vclaunch ", word, ": --timeout takes a positive number of seconds\n")
            return USAGE
          end
        elseif not value then
          io.stderr:write("vclaunch ", word, ": --runtime-dir needs a directory\n")
          return USAGE
        end
        o[key == "runtime-dir" and "runtime_dir" or key] = value
      else
        o[key] = true
      end
    elseif a:match("^%-") then
      io.stderr:write("vclaunch ", word, ": unknown option '", a, "'\n(see vclaunch --help)\n")
      return USAGE
    else
      args[#args + 1] = a
    end
    i = i + 1
  end
  if word == "ls" and #args > 0 then
    io.stderr:write("vclaunch ls: unexpected argument '", args[1], "'\n")
    return USAGE
  end
  local ok, code, usage = pcall(in_task, function() return run[word](o, args) end)
  if not ok then
    say(word, "%s", tostring(code))
    return FAILED
  end
  if usage then
    io.stderr:write("vclaunch ", word, ": ", usage, "\n(see vclaunch --help)\n")
    return USAGE
  end
  return code or FAILED
end

return M
