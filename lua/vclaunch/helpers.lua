-- Helper daemons a VM needs besides QEMU: the virtiofsd of each virtio-fs
-- volume that names no socket. vclaunch starts them before QEMU, watches
-- them while the VM runs and stops them once QEMU has exited.
--
-- The socket: vclaunch creates and listens on <runtime dir>/vfsd-<i>.sock
-- itself and hands virtiofsd the listening fd (--fd=3), as it does with
-- QEMU's QMP socket. The socket accepts from the moment it exists, before
-- virtiofsd runs, so QEMU can connect at once and nothing polls for it.
-- A test connection would not do: virtiofsd accepts exactly one client
-- and exits when that client goes, so a probe that connects and closes
-- ends the virtiofsd it probed. With --fd virtiofsd also writes no pid
-- file under /var/run/virtiofsd.
--
-- A virtiofsd that dies before the VM is up makes pod:start() fail with
-- its stderr (abort). One that dies while QEMU runs is an event,
-- "helper-exit", and unless start's opts.helper_exit is "keep" the VM is
-- stopped: a guest with the file system mounted would hang on it.
local core = require "vclaunch.core"
local errors = require "vclaunch.errors"
local options = require "vclaunch.options"

local M = {}

local fail, log = errors.fail, errors.log

-- Seconds from SIGTERM to SIGKILL when a helper is stopped.
M.STOP_GRACE = 5
-- Seconds the VM gets to quit over QMP after a helper died, before SIGKILL.
M.QUIT_TIMEOUT = 5
-- Seconds a helper's exit waits for QEMU's before it counts as a death.
M.SETTLE = 3
-- Seconds `virtiofsd --help` may take (asked only as a user, or for a
-- read-only volume).
M.PROBE_TIMEOUT = 10
-- Where virtiofsd is looked for after pod.virtiofsd and $PATH: Fedora and
-- the Rust virtiofsd's packages, then Debian's (QEMU's C virtiofsd).
M.VIRTIOFSD_PATHS = {"/usr/libexec/virtiofsd", "/usr/lib/qemu/virtiofsd"}

local function status_text(st)
  return st.code and ("status " .. st.code) or ("signal " .. st.signal)
end

--- Whether vclaunch starts a virtiofsd for volume v (a virtio-fs volume
--- without a socket).
function M.wants_virtiofsd(v)
  return v.type == "virtio-fs" and v.socket == nil
end

--- The file name, in the VM's runtime dir, of the socket of the virtiofsd
--- of pod.volumes[index]. The index, not the tag: a tag may hold any byte
--- and be long, a socket path has 108 bytes.
function M.socket_file(index)
  return ("vfsd-%d.sock"):format(index)
end

-- ---- finding and asking virtiofsd -------------------------------------

local function readable(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

--- The virtiofsd to run for spec (a pod's spec): pod.virtiofsd, else the
--- first on $PATH, else the first of M.VIRTIOFSD_PATHS; nil when none.
function M.find_virtiofsd(spec)
  if spec.virtiofsd then return spec.virtiofsd end
  for dir in (os.getenv("PATH") or ""):gmatch("[^:]+") do
    if readable(dir .. "/virtiofsd") then return dir .. "/virtiofsd" end
  end
  for _, p in ipairs(M.VIRTIOFSD_PATHS) do
    if readable(p) then return p end
  end
  return nil
end

-- What a virtiofsd offers beyond QEMU 7.2's C one, read from its --help
-- once per path: readonly (--readonly) and sandbox (the --sandbox option,
-- which has "none": the Rust virtiofsd).
local probed = {}
local function features(path)
  if probed[path] then return probed[path] end
  local lines = {}
  local ok, p = pcall(core.process, {argv = {path, "--help"},
                                     on_line = function(_, line) lines[#lines + 1] = line end})
  if not ok then
    fail("process", ("virtiofsd %s cannot be started: %s"):format(path,
         type(p) == "table" and p.message or tostring(p)))
  end
  pcall(p.wait, p, M.PROBE_TIMEOUT)
  p:close()
  local text = table.concat(lines, "\n")
  local f = {readonly = text:find("--readonly", 1, true) ~= nil,
             sandbox = text:find("--sandbox", 1, true) ~= nil}
  probed[path] = f
  return f
end

local function effective_uid()
  local f = io.open("/proc/self/status")
  if not f then return nil end
  local text = f:read("a")
  f:close()
  return tonumber(text:match("\nUid:%s+%d+%s+(%d+)"))
end

-- ---- one start ------------------------------------------------------------

-- A copy of pod whose virtio-fs volumes name the sockets (index -> path).
-- A pod builds its argv once, when vclaunch.pod checks it, long before a
-- runtime dir exists; there the volume row names the socket by its file
-- name alone (helpers.socket_file: what `--dry-run` shows). The VM's argv
-- comes from this copy, built anew, so it is exactly the argv of a recipe
-- that had named these sockets itself: same devices, ids and places (the
-- VM keeps the pod itself for hot-plug placement, which is the same).
local function with_sockets(pod, sockets)
  local spec = {}
  for k, v in pairs(pod.spec) do spec[k] = v end
  spec.volumes = {}
  for i, v in ipairs(pod.spec.volumes) do
    if sockets[i] then
      local t = {}
      for k, x in pairs(v) do t[k] = x end
      t.socket = sockets[i]
      v = t
    end
    spec.volumes[i] = v
  end
  local copy = {}
  for k, v in pairs(pod) do copy[k] = v end
  copy.spec, copy._cache = spec, nil
  return setmetatable(copy, getmetatable(pod))
end

--- The helpers pod needs when started in dir (a runtime dir), nothing
--- started yet: {list = {{name, tag, index, volume, socket}, ...}, pod =
--- the pod to build QEMU's argv from}.
function M.plan(pod, dir)
  local set, sockets = {list = {}, pod = pod}, nil
  for i, v in ipairs(pod.spec.volumes or {}) do
    if M.wants_virtiofsd(v) then
      local path = core.socket_path(dir, M.socket_file(i))
      sockets = sockets or {}
      sockets[i] = path
      set.list[#set.list + 1] = {name = "virtiofsd", tag = v.tag, index = i, volume = v,
                                 socket = path}
    end
  end
  if sockets then set.pod = with_sockets(pod, sockets) end
  return set
end

-- Stops the VM after a helper died: quit over QMP, then SIGKILL. In a task.
local function stop_vm(vm)
  if vm.exit then return end
  if vm.qmp then pcall(vm.qmp.execute, vm.qmp, "quit", nil, M.QUIT_TIMEOUT) end
  if not pcall(vm.wait, vm, M.QUIT_TIMEOUT) and not vm.exit then pcall(vm.kill, vm) end
end

-- A helper's exit (from the loop).
local function exited(vm, set, h, status)
  h.status = status
  h.while_running = not vm.exit -- before QEMU's end: not from vclaunch's stop
  log("info", "%s: %s for tag '%s' exited (%s)", vm.name, h.name, h.tag, status_text(status))
  -- abort() tells it; an unplugged volume's virtiofsd is stopped by vclaunch
  if set.stopping or h.removed or vm.exit or not vm.proc then return end
  core.spawn(function()
    -- virtiofsd also ends when QEMU, on its way out, closes the connection;
    -- that exit can come before QEMU's own: it is not a death.
    if pcall(vm.wait, vm, M.SETTLE) then return end
    if set.keep then
      log("info", "%s: %s for tag '%s' is gone; the VM goes on (helper_exit = \"keep\")",
          vm.name, h.name, h.tag)
    else
      log("error", "%s: %s for tag '%s' exited (%s): stopping the VM", vm.name, h.name, h.tag,
          status_text(status))
      core.spawn(function() stop_vm(vm) end)
    end
    -- after the stop is queued: a handler that raises cannot keep the VM up
    vm:_event("helper-exit", {name = h.name, tag = h.tag, status = status},
              {seconds = os.time(), microseconds = 0})
  end)
end

-- virtiofsd's argv for h; raises a recipe error for what it cannot do.
local function virtiofsd_argv(path, h, root)
  local v = h.volume
  local argv = {path, "--fd=3", "-o", "source=" .. v.host_path, "-o", "cache=" .. (v.cache or "auto")}
  -- As root: the namespace sandbox (both virtiofsds' default, said
  -- explicitly): pivot_root into the shared dir, new pid and net
  -- namespaces. As a user no namespace can be made: the Rust virtiofsd
  -- runs with --sandbox=none; QEMU's C one runs as root only and says so
  -- on its stderr (pod:start fails with it).
  if root then
    argv[#argv + 1], argv[#argv + 2] = "-o", "sandbox=namespace"
  elseif features(path).sandbox then
    argv[#argv + 1] = "--sandbox=none"
  end
  if v.readonly then
    if not features(path).readonly then
      fail("recipe", ("pod.volumes[%d].readonly: %s has no read-only mode (QEMU's C virtiofsd " ..
           "has no --readonly); share it with type = \"9p\", or name a virtiofsd that has " ..
           "--readonly in pod.virtiofsd"):format(h.index, path))
    end
    argv[#argv + 1] = "--readonly"
  end
  -- vclaunch's log level: virtiofsd's info and warning lines (each
  -- connection, its end) only when vclaunch's own info lines are wanted
  local level = ({info = "info", debug = "debug"})[options.log_level or "error"] or "err"
  argv[#argv + 1], argv[#argv + 2] = "-o", "log_level=" .. level
  return argv
end

-- Starts virtiofsd h (argv) on its listening socket h.socket.
local function spawn(vm, set, h, argv)
  local listener <close> = core.listen(h.socket)
  local prefix = ("%s/%s: "):format(vm.name, h.tag)
  local okp, p = pcall(core.process, {argv = argv, fds = {listener:fileno()},
    on_line = function(_, line) io.stderr:write(prefix, line, "\n") end,
    on_exit = function(status) exited(vm, set, h, status) end})
  if not okp then
    fail("process", ("%s: virtiofsd for tag '%s' cannot be started: %s"):format(vm.name, h.tag,
         type(p) == "table" and p.message or tostring(p)))
  end
  h.proc = p
  log("info", "%s: virtiofsd for tag '%s' started, pid %d, socket %s", vm.name, h.tag,
      p:pid(), h.socket)
end

-- Whether host_path is a directory virtiofsd can serve; raises else.
local function check_dir(v, index)
  local f, _, code = io.open(v.host_path .. "/.")
  if f then f:close() end
  if code == 2 or code == 20 then -- ENOENT, ENOTDIR
    fail("recipe", ("pod.volumes[%d].host_path: %s is not a directory"):format(index, v.host_path))
  end
end

--- Starts the helpers of set (from plan) for vm, before its QEMU: vm.helpers
--- is set. opts: pod:start's (helper_exit = "stop" (default) or "keep").
--- Raises (after stopping what it started) when one cannot be started.
function M.start(vm, set, opts)
  vm.helpers = set
  set.keep = (opts and opts.helper_exit) == "keep"
  if #set.list == 0 then return end
  local spec = vm.pod.spec
  local path = M.find_virtiofsd(spec)
  if not path then
    fail("process", ("%s: pod.volumes[%d] (virtio-fs, tag '%s') needs virtiofsd: none on PATH " ..
         "or at %s; name it in pod.virtiofsd"):format(vm.name, set.list[1].index, set.list[1].tag,
         table.concat(M.VIRTIOFSD_PATHS, " or ")))
  end
  local root = effective_uid() == 0
  local argvs = {}
  for i, h in ipairs(set.list) do
    check_dir(h.volume, h.index) -- what virtiofsd would say only after QEMU has connected
    argvs[i] = virtiofsd_argv(path, h, root)
  end
  local ok, e = pcall(function()
    for i, h in ipairs(set.list) do spawn(vm, set, h, argvs[i]) end
  end)
  if not ok then
    M.stop(vm)
    errors.rethrow(e, "process")
  end
end

--- Starts the virtiofsd of virtio-fs volume v hot-plugged into the running
--- vm as pod.volumes[index] (no socket: vclaunch serves it, as at
--- pod:start()), on socket vfsd-<index>.sock in the VM's runtime dir.
--- Returns the helper {name, tag, index, volume, socket, proc}, now one of
--- vm:pids().helpers; stop it with stop_helper.
function M.start_hotplug(vm, v, index)
  local path = M.find_virtiofsd(vm.pod.spec)
  if not path then
    fail("process", ("%s: pod.volumes[%d] (virtio-fs, tag '%s') needs virtiofsd: none on PATH " ..
         "or at %s; name it in pod.virtiofsd"):format(vm.name, index, v.tag,
         table.concat(M.VIRTIOFSD_PATHS, " or ")))
  end
  local set = vm.helpers
  if not set then
    set = {list = {}, pod = vm.pod}
    vm.helpers = set
  end
  local h = {name = "virtiofsd", tag = v.tag, index = index, volume = v,
             socket = core.socket_path(vm.dir, M.socket_file(index))}
  check_dir(v, index)
  spawn(vm, set, h, virtiofsd_argv(path, h, effective_uid() == 0))
  set.list[#set.list + 1] = h
  return h
end

--- Stops helper h of vm (a hot-plugged volume's virtiofsd, after its
--- device and chardev are gone: it usually ends by itself when QEMU closes
--- the connection): SIGTERM, SIGKILL after STOP_GRACE, and waits up to
--- timeout seconds for its exit. In a task.
function M.stop_helper(vm, h, timeout)
  h.removed = true
  if h.proc and not h.status then
    h.proc:terminate(M.STOP_GRACE)
    h.proc:wait(timeout or 30)
  end
  local set = vm.helpers
  for i, x in ipairs(set and set.list or {}) do
    if x == h then table.remove(set.list, i) break end
  end
  os.remove(h.socket)
end

--- Stops vm's helpers that still run: SIGTERM now, SIGKILL after
--- STOP_GRACE seconds (from the loop). No waiting; idempotent. Called once
--- QEMU has exited, and when the start fails.
function M.stop(vm)
  local set = vm.helpers
  if not set or set.stopping then return end
  set.stopping = true
  for _, h in ipairs(set.list) do
    if h.proc and not h.status then h.proc:terminate(M.STOP_GRACE) end
  end
end

--- For pod:start's failure path: e, or, when a helper died on its own
--- before QEMU ended, a process error that says so with the helper's
--- stderr (QEMU's own message is then only about the vhost-user socket).
--- Stops the helpers.
function M.abort(vm, e)
  local set = vm.helpers
  -- QEMU gone: a helper whose death ended it may not be reaped yet
  if set and vm.exit and core.in_task() and coroutine.isyieldable() then
    local deadline = core.now() + 1
    for _, h in ipairs(set.list) do
      local left = deadline - core.now()
      if h.proc and not h.status and left > 0 then pcall(h.proc.wait, h.proc, left) end
    end
  end
  for _, h in ipairs(set and set.list or {}) do
    -- status 0: it ended because QEMU closed the connection
    if h.status and h.while_running and h.status.code ~= 0 then
      local tail = h.proc:stderr_tail()
      e = core.error("process", ("%s: %s for tag '%s' (pod.volumes[%d]) exited (%s) before the " ..
                     "VM was up: %s"):format(vm.name, h.name, h.tag, h.index,
                     status_text(h.status), tail ~= "" and tail or "it said nothing"))
      break
    end
  end
  M.stop(vm)
  return e
end

--- The helpers of vm that run now: {{name =, tag =, pid =}, ...}.
function M.pids(vm)
  local t = {}
  for _, h in ipairs(vm.helpers and vm.helpers.list or {}) do
    if h.proc and not h.status then t[#t + 1] = {name = h.name, tag = h.tag, pid = h.proc:pid()} end
  end
  return t
end

return M
