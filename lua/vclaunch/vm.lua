-- VMs: starting a pod's QEMU, QMP, events, and the shutdown ladder.
--
-- A VM holds its QEMU process, QMP session, console and runtime dir. When
-- QEMU exits (from the loop, in the process's exit handler) everything is
-- released at once: the QMP session, the console log, the runtime dir, and
-- the handlers, so a finished VM pins nothing. A VM is closeable:
-- `local vm <close> = pod:start()` shuts it down when the scope ends.
local core = require "vclaunch.core"
local errors = require "vclaunch.errors"
local options = require "vclaunch.options"
local console = require "vclaunch.console"
local helpers = require "vclaunch.helpers" -- virtiofsd for virtio-fs volumes
local guest = require "vclaunch.guest" -- panic and the guest's exit status
local events = require "vclaunch.events" -- --events lines, sd_notify
local logs = require "vclaunch.logs" -- where the console log goes
local runinfo = require "vclaunch.runinfo" -- vm.json, qmp-user.sock, ctl.sock
local Pod = require("vclaunch.pod").Pod

local M = {}

local fail, log, progress = errors.fail, errors.log, errors.progress

-- VMs whose QEMU still runs; the CLI shuts down what a finished recipe
-- left behind.
M.live = {}

-- How many events a VM keeps (vm:events()); older ones are counted in
-- vm.events_dropped.
M.EVENTS_KEPT = 1000

local VM = {}
VM.__index = VM

local function status_text(st)
  return st.code and ("status " .. st.code) or ("signal " .. st.signal)
end

-- Releases what the VM holds; no waiting (called from the exit handler and
-- from __gc).
local function cleanup(vm)
  M.live[vm] = nil
  helpers.stop(vm) -- vclaunch.helpers: virtiofsd goes once QEMU has
  if vm.qmp then vm.qmp:close() end
  vm.console:_close()
  vm.exit_cond:signal()
  vm.event_cond:signal() -- wait_event sees the exit at once
  if vm.dir then core.rundir_remove(vm.dir) vm.dir = nil end
  runinfo.release(vm) -- after the dir: `vclaunch stop` returns once it is gone
end

-- What --dry-run raises from pod:start(), after options.on_dry_run got
-- {name, argv, first, count} (argv[first .. first + count - 1] are the
-- arguments vclaunch adds: its QMP monitors, the pidfile, -S for freeze):
-- the recipe stops there.
local DryRun = {__tostring = function() return "--dry-run: the recipe stopped at pod:start()" end}

local swept = {}

--- Starts the pod's QEMU and returns a VM once QMP is negotiated. Must run
--- in a task. opts: timeout (QMP, seconds, default 30), freeze, restore (a
--- file vm:save wrote: QEMU starts from that state, and runs unless frozen),
--- ready (a Lua pattern: the first console line matching it makes the
--- guest ready, as pod.ready does; see VM:ready).
function M.start(pod, opts)
  core.check_task("start") -- before anything is created
  opts = opts or {}
  if opts.restore then -- before anything starts: a state file that cannot be read
    local f, err = io.open(opts.restore, "rb")
    if not f then fail("io", ("%s: restore: %s"):format(pod.name, err)) end
    f:close()
  end
  -- Once per runtime dir and process: what a killed vclaunch left behind.
  local base = options.runtime_dir or ""
  if not swept[base] and not options.dry_run then
    swept[base] = true
    local ok, n = pcall(core.rundir_sweep, options.runtime_dir)
    if ok and n > 0 then log("info", "removed %d stale runtime dir(s)", n) end
  end
  local dir, vm, dry
  local ok, e = pcall(function()
    -- --dry-run: the argv QEMU would get, built the same way with a
    -- runtime dir that is only named (nothing is created, listened on or
    -- started), then DryRun below
    dir = options.dry_run and ("<runtime-dir>/%s-XXXXXX"):format(pod.name) or
          core.rundir(pod.name, options.runtime_dir)
    local qmp_path = core.socket_path(dir, "qmp.sock")
    local listener <close> = not options.dry_run and core.listen(qmp_path) or nil
    local extra = {
      {"chardev", {backend = "socket", id = "qmp", fd = 3, server = true, wait = false}},
      {"mon", {chardev = "qmp"}},
      {"pidfile", {path = dir .. "/pid"}},
    }
    runinfo.add_args(extra, dir) -- the second QMP monitor, for `vclaunch qmp` and `ls`
    if opts.freeze and not pod.spec.freeze then extra[#extra + 1] = {"flags", {freeze = true}} end
    -- restore: QEMU waits for the state (migrate-incoming, below)
    if opts.restore then extra[#extra + 1] = {"incoming", {uri = "defer"}} end
    -- vclaunch.helpers: a virtio-fs volume without a socket gets a virtiofsd
    -- on a socket in dir; QEMU's argv comes from a copy of the pod that
    -- names it (helpers.plan says why).
    local helper_set = helpers.plan(pod, dir)
    local run_pod, status_path = guest.plan(helper_set.pod, dir)
    local argv = run_pod:argv(extra)
    if options.dry_run then
      -- extra's arguments sit after the pod's own devices (Pod:argv)
      local first = #run_pod:_base().argv + 1
      dry = {name = pod.name, argv = argv, first = first,
             count = #argv - #run_pod:argv()}
      dir = nil
      return
    end
    vm = setmetatable({pod = pod, name = pod.name, dir = dir, argv = argv, handlers = {},
                       events_first = 1, events_last = 0, events_dropped = 0, event_log = {},
                       event_cond = core.cond(), exit_cond = core.cond(),
                       ready_pattern = opts.ready or pod.spec.ready,
                       console = console.new(pod.name, logs.path(pod.name) or (dir .. "/console.log"))}, VM)
    vm.log_path = vm.console.log_path -- kept after the exit, for people and the metadata
    guest.watch(vm, argv, status_path)
    helpers.start(vm, helper_set, opts) -- vclaunch.helpers: virtiofsd before QEMU
    runinfo.publish(vm) -- vm.json and ctl.sock, before QEMU starts
    local name = pod.name
    -- fd 3 is the QMP socket; the recipe's fds follow as the argv names them
    local fds = {listener:fileno()}
    for _, fd in ipairs(pod:passed_fds()) do fds[#fds + 1] = fd end
    vm.proc = core.process{argv = argv, fds = fds, stdin = true,
      on_line = function(stream, line)
        if stream == "stdout" then
          vm.console:_push(line)
          if vm.ready_pattern and not vm.ready_at and line:find(vm.ready_pattern) then vm:ready() end
        else io.stderr:write(name, ": ", line, "\n") end
      end,
      on_partial = function(stream, text)
        if stream == "stdout" then vm.console:_partial(text) end
      end,
      on_exit = function(status)
        guest.exited(vm, status) -- panicked, guest_status: before the runtime dir goes
        vm.exit = status
        progress("%s: QEMU exited (%s)", name, status_text(status))
        events.emit(vm, "exited", {code = status.code, signal = status.signal,
                                   panicked = status.panicked or nil, guest_status = status.guest_status})
        cleanup(vm)
      end}
    listener:close() -- QEMU has its own copy
    runinfo.spawned(vm) -- vm.json gains QEMU's pid
    local proc = vm.proc
    vm.console.write = function(text) proc:write(text) end
    M.live[vm] = true
    vm.started_at = core.now()
    progress("%s: QEMU started, pid %d, runtime dir %s%s", name, vm.proc:pid(), dir,
             vm.log_path:sub(1, #dir + 1) == dir .. "/" and "" or (", log " .. vm.log_path))
    events.emit(vm, "starting", {pid = vm.proc:pid(), runtime_dir = dir, log = vm.log_path})
    if options.log_level == "debug" then log("debug", "%s: %s", name, core.render(argv, "shell")) end
    local okq, q = pcall(core.qmp_connect, qmp_path, opts.timeout or 30)
    if not okq then
      vm.proc:kill(9)
      local status = vm.exit or vm.proc:wait()
      local tail = vm.proc:stderr_tail()
      error(core.error("process", ("%s: QEMU exited (%s) before QMP was ready: %s"):format(
        name, status_text(status), tail ~= "" and tail or tostring(q))), 0)
    end
    if vm.exit then -- QEMU ended between the greeting and now
      q:close()
    else
      vm.qmp = q
      q:on_event(function(ev_name, data, ts) vm:_event(ev_name, data, ts) end)
      local took = core.now() - vm.started_at
      progress("%s: QMP ready in %.2f s", name, took)
      events.emit(vm, "qmp-ready", {seconds = math.floor(took * 1000 + 0.5) / 1000})
    end
    if opts.restore and not vm.exit then
      local okr, er = pcall(M.restore, vm, opts.restore, opts.timeout or 60)
      if not okr then
        -- QEMU ends when an incoming migration fails: say why with its words
        if not vm.exit then vm.proc:kill(9) end
        local status = vm.exit or vm.proc:wait(10)
        local tail = vm.proc:stderr_tail()
        error(core.error("process", ("%s: restore from %s failed (QEMU %s): %s"):format(
          name, opts.restore, status_text(status),
          tail ~= "" and tail or (type(er) == "table" and er.message or tostring(er)))), 0)
      end
      if not (opts.freeze or pod.spec.freeze) then vm:execute("cont") end
    end
  end)
  if dry then
    -- printed here (options.on_dry_run), so that every pod a recipe starts
    -- is, also from tasks whose errors nobody reads
    if options.on_dry_run then options.on_dry_run(dry) end
    error(setmetatable({dry_run = dry.argv, printed = options.on_dry_run ~= nil}, DryRun), 0)
  end
  if not ok then
    if vm then e = helpers.abort(vm, e) end -- vclaunch.helpers: a helper that died first
    if vm and vm.proc then
      if not vm.exit then vm.proc:close() end
      cleanup(vm)
    elseif dir then
      if vm then vm.console:_close() end -- QEMU never ran: the log file closes
      pcall(core.rundir_remove, dir)
    end
    if vm then runinfo.release(vm) end
    if type(e) ~= "table" then e = core.error("io", tostring(e)) end
    e.during = "start" -- the CLI's exit code for "QEMU could not be started"
    events.emit(pod.name, "failed", {kind = e.kind, message = e.message})
    errors.rethrow(e, "io")
  end
  return vm
end

function VM:_event(name, data, ts)
  local ev = {event = name, data = data, timestamp = ts, seq = self.events_last + 1}
  self.events_last = self.events_last + 1
  self.event_log[self.events_last] = ev
  if self.events_last - self.events_first >= M.EVENTS_KEPT then
    self.event_log[self.events_first] = nil
    self.events_first = self.events_first + 1
    self.events_dropped = self.events_dropped + 1
  end
  self.event_cond:signal()
  events.qmp(self, ev)
  for _, fn in ipairs(self.handlers[name] or {}) do fn(ev) end
  for _, fn in ipairs(self.handlers["*"] or {}) do fn(ev) end
end

--- The events kept (the last EVENTS_KEPT), oldest first; vm.events_dropped
--- counts those that were let go.
function VM:events()
  return table.move(self.event_log, self.events_first, self.events_last, 1, {})
end

function VM:_check()
  if self.exit then fail("process", self.name .. ": the VM has exited") end
end

--- Runs a QMP command; returns its "return" value.
function VM:execute(command, args, timeout)
  self:_check()
  local ok, r = pcall(self.qmp.execute, self.qmp, command, args, timeout)
  if ok then return r end
  errors.rethrow(r, "qmp") -- at the recipe's line, with class and command
end

--- Says the guest is ready (once; later calls do nothing): a "guest-ready"
--- line on --events and a progress line. The first console line matching
--- pod.ready (or start's opts.ready) calls it; a recipe calls it when it
--- knows better (after a login, a health check).
function VM:ready(how)
  if self.ready_at then return end
  self.ready_at = core.now()
  local took = self.ready_at - (self.started_at or self.ready_at)
  progress("%s: guest ready in %.2f s", self.name, took)
  events.emit(self, "guest-ready", {seconds = math.floor(took * 1000 + 0.5) / 1000,
                                    by = how or (self.ready_pattern and "console") or "recipe"})
end

--- Calls fn(event) for every event called name ("*": all).
function VM:on(name, fn)
  local list = self.handlers[name] or {}
  list[#list + 1] = fn
  self.handlers[name] = list
end

local function matches(data, match)
  for k, v in pairs(match or {}) do
    if type(data) ~= "table" or data[k] ~= v then return false end
  end
  return true
end

--- Waits for the next event called name whose data holds opts.match.
--- opts.after: a sequence number from vm:arm_event (the events since then
--- count, so one that came before this call is not missed).
function VM:wait_event(name, opts)
  opts = opts or {}
  local timeout = opts.timeout or 30
  local deadline = core.now() + timeout
  local seen = opts.after or self.events_last
  while true do
    for i = math.max(seen + 1, self.events_first), self.events_last do
      local ev = self.event_log[i]
      if ev.event == name and matches(ev.data, opts.match) then return ev end
    end
    seen = self.events_last
    local left = deadline - core.now()
    if self.exit then fail("disconnected", "wait_event " .. name .. ": the VM exited") end
    if left <= 0 then fail("timeout", ("wait_event %s: none within %gs"):format(name, timeout)) end
    self.event_cond:wait(left)
  end
end

--- Arms a wait for the next event called name (opts.match as for
--- wait_event) from now on, before the command that causes it: returns an
--- object whose wait([timeout]) returns the event.
---   local deleted = vm:arm_event("DEVICE_DELETED", {match = {device = "d1"}})
---   vm:execute("device_del", {id = "d1"})
---   deleted:wait(30)
function VM:arm_event(name, opts)
  opts = opts or {}
  local seq = self.events_last
  return {wait = function(_, timeout)
    return self:wait_event(name, {match = opts.match, timeout = timeout or opts.timeout, after = seq})
  end}
end

--- Live operations (vclaunch.live): hotplug(concept, item[, opts]) -> Device,
--- unplug(device_or_id[, opts]), devices().
-- Loaded at the first call, as vclaunch.resize is: a recipe that only
-- starts VMs does not pay for it.
function VM:hotplug(concept, item, opts)
  return require("vclaunch.live").hotplug(self, concept, item, opts)
end
function VM:unplug(dev, opts) return require("vclaunch.live").unplug(self, dev, opts) end
function VM:devices() return require("vclaunch.live").devices(self) end

--- The pids of the VM's processes that run now: {qemu = pid, helpers =
--- {{name = "virtiofsd", tag =, pid =}, ...}}; qemu is nil once QEMU has
--- exited.
function VM:pids()
  return {qemu = not self.exit and self.proc:pid() or nil, helpers = helpers.pids(self)}
end
function VM:resize_vcpus(n, opts) return require("vclaunch.resize").resize_vcpus(self, n, opts) end
function VM:resize_memory(mib, opts) return require("vclaunch.resize").resize_memory(self, mib, opts) end
function VM:balloon(mib, opts) return require("vclaunch.resize").balloon(self, mib, opts) end
--- The port forwards of the VM's user endpoints as QEMU holds them, with
--- the host port bound (vclaunch.forward.list).
function VM:forwards(timeout) return require("vclaunch.forward").list(self, timeout) end

-- ---- save and restore ----------------------------------------------------

-- MIGRATION events after "setup" come only with the events capability.
local function migration_events(vm)
  vm:execute("migrate-set-capabilities",
             {capabilities = {{capability = "events", state = true}}})
end

-- Waits (armed before start() sends the command) until the migration ends:
-- completed, or failed/cancelled as an error naming what.
local function migration_done(vm, what, timeout, start)
  local terminal = {completed = true, failed = true, cancelled = true}
  local seq = vm.events_last
  start()
  local deadline = core.now() + timeout
  while true do
    local left = deadline - core.now()
    if left <= 0 then fail("timeout", ("%s: %s did not finish within %gs"):format(vm.name, what, timeout)) end
    local ev = vm:wait_event("MIGRATION", {timeout = left, after = seq})
    seq = ev.seq
    local status = ev.data and ev.data.status
    if terminal[status] then
      if status ~= "completed" then
        local info = vm:execute("query-migrate")
        fail("qmp", ("%s: %s %s%s"):format(vm.name, what, status,
             info["error-desc"] and (": " .. info["error-desc"]) or ""))
      end
      return
    end
  end
end

--- Saves the VM's state to path (a file vclaunch opens and hands QEMU as
--- an fd: no shell, no exec:) and leaves the VM paused. Restore it with
--- pod:start{restore = path} (the same pod). QEMU reports the saved VM's
--- status as "postmigrate" (paused).
function VM:save(path, opts)
  core.check_task("vm:save")
  self:_check()
  opts = opts or {}
  local f, err = io.open(path, "wb")
  if not f then fail("io", ("%s: save: %s"):format(self.name, err)) end
  local ok, e = pcall(function()
    if self:status() == "running" then self:pause() end
    migration_events(self)
    self:getfd("vclaunch-save", f)
    migration_done(self, "save", opts.timeout or 300, function()
      self:execute("migrate", {uri = "fd:vclaunch-save"})
    end)
    -- QEMU sends "completed" while its run state is still finish-migrate;
    -- no event marks the step to postmigrate, so it is polled, bounded.
    local deadline = core.now() + 5
    while self:status() == "finish-migrate" and core.now() < deadline do core.sleep(0.01) end
  end)
  f:close()
  if not ok then os.remove(path) errors.rethrow(e, "qmp") end
end

-- The restore half of start{restore = path}: QEMU was started with
-- -incoming defer and waits for the state.
function M.restore(vm, path, timeout)
  local f, err = io.open(path, "rb")
  if not f then fail("io", ("%s: restore: %s"):format(vm.name, err)) end
  local ok, e = pcall(function()
    migration_events(vm)
    vm:getfd("vclaunch-restore", f)
    migration_done(vm, "restore", timeout, function()
      vm:execute("migrate-incoming", {uri = "fd:vclaunch-restore"})
    end)
  end)
  f:close()
  if not ok then errors.rethrow(e, "qmp") end
end

--- Passes fd (an integer or an open Lua file) to QEMU under name (QMP
--- getfd, the fd sent with SCM_RIGHTS); QEMU keeps its own copy.
function VM:getfd(name, fd)
  self:_check()
  local ok, e = pcall(self.qmp.execute, self.qmp, "getfd", {fdname = name}, nil, fd)
  if not ok then errors.rethrow(e, "qmp") end
end

--- The exit status the guest wrote to the vclaunch.status port
--- (pod.guest_status), or nil.
function VM:guest_status() return guest.status(self) end

function VM:pause() self:execute("stop") end
function VM:resume() self:execute("cont") end
--- The run state: "running", "paused", "prelaunch", ...
function VM:status() return self:execute("query-status").status end

-- Waits until QEMU has exited or timeout seconds passed; returns the exit
-- status or nil.
local function wait_exit(vm, timeout)
  local deadline = core.now() + timeout
  while not vm.exit do
    local left = deadline - core.now()
    if left <= 0 then break end
    vm.exit_cond:wait(left)
  end
  return vm.exit
end

--- Waits for QEMU to exit: {code = n} or {signal = n}, with panicked (the
--- guest panicked: vm.panicked) and guest_status (vm:guest_status()).
--- timeout: seconds (default: no limit), then a timeout error.
function VM:wait(timeout)
  core.check_task("vm:wait")
  if timeout then
    if not wait_exit(self, timeout) then
      fail("timeout", ("vm:wait: %s did not exit within %gs"):format(self.name, timeout))
    end
    return self.exit
  end
  while not self.exit do self.exit_cond:wait(3600) end
  return self.exit
end

--- Sends SIGKILL and waits for the exit.
function VM:kill()
  core.check_task("vm:kill")
  if not self.exit then self.proc:kill(9) end
  return self:wait()
end

--- The shutdown ladder: system_powerdown (only when the guest runs), then
--- quit, then SIGTERM, then SIGKILL, each step only if the previous did not
--- end the VM within timeout seconds. A step costs at most timeout seconds,
--- its QMP reply included. Steps that cannot work are skipped: a stopped
--- QEMU (SIGSTOP) gets SIGKILL at once, an unanswering monitor no (more)
--- QMP step, a guest that is not running (paused, -S) no power button.
--- --log-level info tells each step, and a power button the guest ignored.
function VM:shutdown(opts)
  core.check_task("vm:shutdown")
  local t = (opts and opts.timeout) or 10
  local name = self.name
  -- The process's state letter (R, S, T: stopped by a signal, Z, ...).
  local function state()
    local f = io.open("/proc/" .. self.proc:pid() .. "/stat")
    if not f then return nil end
    local s = f:read("a"):match("^%d+ %b() (%a)")
    f:close()
    return s
  end
  -- What QMP can still do: a stopped QEMU (SIGSTOP) answers nothing, so
  -- its QMP steps would each cost the whole timeout; a QEMU whose monitor
  -- does not answer query-status in time would not answer the others; a
  -- guest that is not running (paused, or never started: -S) cannot act on
  -- the power button.
  local qmp_ok, running = self.qmp ~= nil and not self.exit and state() ~= "T", false
  if qmp_ok then
    local ok, st = pcall(self.qmp.execute, self.qmp, "query-status", nil, t)
    if ok then
      running = st.running
    elseif not self.exit then
      qmp_ok = false
      log("info", "%s: shutdown: QMP did not answer query-status (%s)", name, tostring(st))
    end
  end
  -- A QMP step: the reply and the exit share the step's timeout. A command
  -- that gets no reply (a QEMU stopped since, a monitor that hangs) ends
  -- the QMP steps; it returns false then (the step has said why).
  local function qmp(cmd)
    return function()
      local ok, e = pcall(self.qmp.execute, self.qmp, cmd, nil, t)
      if not ok and not self.exit and type(e) == "table" and e.kind == "timeout" then
        qmp_ok = false
        log("info", "%s: shutdown: QMP did not answer %s (%s)", name, cmd, tostring(e))
        return false
      end
    end
  end
  local steps = {
    {"system_powerdown", function() return qmp_ok and running end, qmp("system_powerdown"),
     "the guest did not act on the power button"},
    {"quit", function() return qmp_ok end, qmp("quit"), "quit did not end QEMU"},
    {"SIGTERM", function() return state() ~= "T" end, function() self.proc:kill(15) end,
     "SIGTERM did not end QEMU"},
    {"SIGKILL", function() return true end, function() self.proc:kill(9) end,
     "SIGKILL did not end QEMU"},
  }
  if not self.exit then events.emit(self, "stopping", {timeout = t}) end
  for _, step in ipairs(steps) do
    if self.exit then break end
    if step[2]() then
      -- options.kill_hint: the CLI's "Ctrl-C again to kill" when a signal started this
      progress("%s: shutdown: %s (%gs)%s", name, step[1], t,
               options.kill_hint and (", " .. options.kill_hint) or "")
      events.emit(self, "shutdown-step", {step = step[1], timeout = t})
      local deadline = core.now() + t
      local said = step[3]() == false
      if wait_exit(self, deadline - core.now()) then break end
      if not said then progress("%s: shutdown: %s within %gs", name, step[4], t) end
    end
  end
  return self:wait()
end

--- `local vm <close> = pod:start()`: the VM goes down the shutdown ladder
--- when the scope ends. Where the scope's end cannot wait (a cancelled
--- task), the ladder runs in a task of its own.
function VM:__close()
  if self.exit then return end
  if core.in_task() and coroutine.isyieldable() then
    if pcall(self.shutdown, self) then return end
  end
  if not self.exit then core.spawn(function() self:shutdown() end) end
end

-- Collected with the Lua state (a VM is kept in M.live while QEMU runs):
-- QEMU is killed and reaped, its runtime dir removed. No waiting.
function VM:__gc()
  if self.proc and not self.exit then self.proc:close() end
  if self.dir then pcall(core.rundir_remove, self.dir) self.dir = nil end
end

--- Starts the pod: see vclaunch.start. opts: timeout (QMP, seconds),
--- freeze (start with the vCPUs stopped, as if pod.freeze were set).
function Pod:start(opts)
  return M.start(self, opts)
end

return M
