-- VMs: starting a pod's QEMU, QMP, events, and the shutdown ladder.
local core = require "vclaunch.core"
local errors = require "vclaunch.errors"
local options = require "vclaunch.options"
local console = require "vclaunch.console"
local Pod = require("vclaunch.pod").Pod

local M = {}

local fail, log = errors.fail, errors.log

-- VMs still running; the CLI stops what a finished recipe left behind.
M.live = {}

local VM = {}
VM.__index = VM

local function cleanup(vm)
  if vm.qmp then vm.qmp:close() end
  if vm.console.log then vm.console.log:close() vm.console.log = nil end
  vm.console.log_path = nil
  vm.console.closed = true
  vm.console.cond:signal()
  vm.event_cond:signal() -- wait_event sees the exit at once
  if vm.dir then core.rundir_remove(vm.dir) vm.dir = nil end
end

local swept = {}

--- Starts the pod's QEMU and returns a VM once QMP is negotiated.
function M.start(pod, opts)
  opts = opts or {}
  -- Once per runtime dir and process: what a killed vclaunch left behind.
  local base = options.runtime_dir or ""
  if not swept[base] then
    swept[base] = true
    local ok, n = pcall(core.rundir_sweep, options.runtime_dir)
    if ok and n > 0 then log("info", "removed %d stale runtime dir(s)", n) end
  end
  local dir
  local ok, vm = pcall(function()
    dir = core.rundir(pod.name, options.runtime_dir)
    local qmp_path = core.socket_path(dir, "qmp.sock")
    local listener = core.listen(qmp_path)
    local extra = {
      {"chardev", {backend = "socket", id = "qmp", fd = 3, server = true, wait = false}},
      {"mon", {chardev = "qmp"}},
      {"pidfile", {path = dir .. "/pid"}},
    }
    if opts.freeze and not pod.spec.freeze then extra[#extra + 1] = {"flags", {freeze = true}} end
    local argv = pod:argv(extra)
    local vm = setmetatable({pod = pod, dir = dir, argv = argv, handlers = {},
                             events = {}, event_cond = core.cond(), exit_cond = core.cond(),
                             console = console.new(dir .. "/console.log")}, VM)
    vm.proc = core.process{argv = argv, fds = {listener:fileno()},
      on_line = function(stream, line)
        if stream == "stdout" then vm.console:_push(line)
        else io.stderr:write(pod.name, ": ", line, "\n") end
      end}
    listener:close()
    log("info", "%s: QEMU started, pid %d, runtime dir %s", pod.name, vm.proc:pid(), dir)
    if options.log_level == "debug" then
      log("debug", "%s: %s", pod.name, core.render(argv, "shell"))
    end
    -- The watcher: reaps QEMU, then releases everything the VM holds.
    M.live[vm] = true
    core.spawn(function()
      vm.exit = vm.proc:wait()
      log("info", "%s: QEMU exited (%s)", pod.name,
          vm.exit.code and ("status " .. vm.exit.code) or ("signal " .. vm.exit.signal))
      M.live[vm] = nil
      vm.exit_cond:signal()
      cleanup(vm)
    end)
    local okq, q = pcall(core.qmp_connect, qmp_path, opts.timeout or 30)
    if not okq then
      vm.proc:kill(9)
      local status = vm.exit or vm.proc:wait()
      local tail = vm.proc:stderr_tail()
      error(core.error("process", ("%s: QEMU exited (%s) before QMP was ready: %s"):format(
        pod.name, status.code and ("status " .. status.code) or ("signal " .. status.signal),
        tail ~= "" and tail or tostring(q))), 0)
    end
    vm.qmp = q
    q:on_event(function(name, data, ts)
      local ev = {event = name, data = data, timestamp = ts}
      vm.events[#vm.events + 1] = ev
      vm.event_cond:signal()
      for _, fn in ipairs(vm.handlers[name] or {}) do fn(ev) end
      for _, fn in ipairs(vm.handlers["*"] or {}) do fn(ev) end
    end)
    return vm
  end)
  if not ok then
    if not (type(vm) == "table" and vm.kind) then vm = core.error("io", tostring(vm)) end
    if dir then pcall(core.rundir_remove, dir) end
    fail(vm.kind, vm.message, vm)
  end
  return vm
end

function VM:_check()
  if self.exit then fail("process", self.pod.name .. ": the VM has exited") end
end

--- Runs a QMP command; returns its "return" value.
function VM:execute(command, args, timeout)
  self:_check()
  local ok, r = pcall(self.qmp.execute, self.qmp, command, args, timeout)
  if ok then return r end
  if type(r) ~= "table" then error(r, 0) end
  fail(r.kind, r.message, r) -- at the recipe's line, with class and command
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
function VM:wait_event(name, opts)
  opts = opts or {}
  local timeout = opts.timeout or 30
  local deadline = core.now() + timeout
  local seen = #self.events
  while true do
    for i = seen + 1, #self.events do
      local ev = self.events[i]
      if ev.event == name and matches(ev.data, opts.match) then return ev end
    end
    seen = #self.events
    local left = deadline - core.now()
    if self.exit then fail("disconnected", "wait_event " .. name .. ": the VM exited") end
    if left <= 0 then fail("timeout", ("wait_event %s: none within %gs"):format(name, timeout)) end
    self.event_cond:wait(left)
  end
end

function VM:pause() self:execute("stop") end
function VM:resume() self:execute("cont") end
--- The run state: "running", "paused", "prelaunch", ...
function VM:status() return self:execute("query-status").status end

local function wait_exit(vm, timeout)
  if not vm.exit then vm.exit_cond:wait(timeout) end
  return vm.exit
end

--- Waits for QEMU to exit: {code = n} or {signal = n}.
function VM:wait()
  while not self.exit do self.exit_cond:wait(3600) end
  return self.exit
end

--- Sends SIGKILL and waits for the exit.
function VM:kill()
  if not self.exit then self.proc:kill(9) end
  return self:wait()
end

--- system_powerdown, then quit, then SIGTERM, then SIGKILL, each step only
--- if the previous did not end the VM within timeout seconds.
function VM:shutdown(opts)
  local t = (opts and opts.timeout) or 10
  -- Each step returns false when it cannot apply (no QMP yet: a signal
  -- during start), and then the ladder goes on without waiting.
  local function qmp(cmd)
    return function()
      if not self.qmp then return false end
      pcall(self.qmp.execute, self.qmp, cmd, nil, t)
      return true
    end
  end
  local steps = {
    qmp("system_powerdown"),
    qmp("quit"),
    function() self.proc:kill(15) return true end,
    function() self.proc:kill(9) return true end,
  }
  for _, step in ipairs(steps) do
    if self.exit then break end
    if step() and wait_exit(self, t) then break end
  end
  return self:wait()
end


--- Starts the pod: see vclaunch.start. opts: timeout (QMP, seconds),
--- freeze (start with the vCPUs stopped, as if pod.freeze were set).
function Pod:start(opts)
  return M.start(self, opts)
end

return M
