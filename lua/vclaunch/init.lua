-- vclaunch: launch and drive QEMU virtual machines described in Lua.
--
--   local vc = require "vclaunch"
--   local vm = vc.pod{name = "demo", kernel = {path = "bzImage"}}:start()
--   vm.console:expect("login:", 30)
--   vm:shutdown{timeout = 10}
--
-- Waiting calls (start, execute, wait_event, expect, shutdown, wait,
-- sleep) must run in a task: the CLI runs the recipe in one; other tools
-- use vc.spawn(fn) and vc.run().
local core = require "vclaunch.core"

local M = {}

M.sleep = core.sleep
M.spawn = core.spawn
M.run = core.run
M.error = core.error

-- Settings from the CLI (or the embedding tool): accel, runtime_dir,
-- log_level, echo_console.
M.options = {}

-- Raises an error object pointing at the recipe: the first Lua frame that
-- is not vclaunch's own code.
local function fail(kind, msg)
  local where = ""
  for level = 3, 50 do
    local info = debug.getinfo(level, "Sl")
    if not info then break end
    local own = info.source:match("^@lua/vclaunch/") or info.source:match("^@arch/")
                or info.source:match("/lua/vclaunch/") or info.source:match("/arch/%w+%.lua$")
    if info.what ~= "C" and not own and info.currentline > 0 then
      where = info.short_src .. ":" .. info.currentline .. ": "
      break
    end
  end
  error(core.error(kind, where .. msg), 0)
end

-- VMs still running; the CLI kills what a finished recipe left behind.
M._live = {}

local function distance(a, b)
  local prev = {}
  for j = 0, #b do prev[j] = j end
  for i = 1, #a do
    local cur = {[0] = i}
    for j = 1, #b do
      local cost = a:sub(i, i) == b:sub(j, j) and 0 or 1
      cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
    end
    prev = cur
  end
  return prev[#b]
end

local function suggest(name, names)
  local best, best_d = nil, 4
  for _, n in ipairs(names) do
    local d = distance(name, n)
    if d < best_d then best, best_d = n, d end
  end
  return best and (" (did you mean '" .. best .. "'?)") or ""
end

-- ---- pods -------------------------------------------------------------

-- The pod fields and their Lua types.
local POD_FIELDS = {
  name = "string", arch = "string", machine = "string", accel = "string",
  cpu = "string", vcpus = "number", max_vcpus = "number", memory = "number",
  max_memory = "number", memory_slots = "number", kernel = "table",
  devices = "table", no_reboot = "boolean", freeze = "boolean",
}
local KERNEL_FIELDS = {path = "string", initrd = "string", params = "string", debug = "boolean"}

local function check_fields(t, fields, what, level)
  local names = {}
  for k in pairs(fields) do names[#names + 1] = k end
  table.sort(names)
  for k, v in pairs(t) do
    if type(k) ~= "string" or not fields[k] then
      fail("recipe", what .. ": unknown field '" .. tostring(k) .. "'" ..
           suggest(tostring(k), names), level + 1)
    end
    if type(v) ~= fields[k] then
      fail("recipe", what .. ": field '" .. k .. "' must be a " .. fields[k] ..
           ", got a " .. type(v), level + 1)
    end
  end
end

local function kvm_usable()
  local f = io.open("/dev/kvm", "r+")
  if f then f:close() return true end
  return false
end

local Pod = {}
Pod.__index = Pod

--- Validates a pod table and returns a Pod.
---@param t table
function M.pod(t)
  if type(t) ~= "table" then fail("usage", "vclaunch.pod: expected a table", 1) end
  check_fields(t, POD_FIELDS, "pod", 2)
  if t.kernel then check_fields(t.kernel, KERNEL_FIELDS, "pod.kernel", 2) end
  local ok, arch = pcall(require, "vclaunch.arch." .. (t.arch or "amd64"))
  if not ok then fail("recipe", "pod: unknown arch '" .. tostring(t.arch) .. "'", 1) end
  local name = t.name or "vm"
  local okid, err = pcall(core.check_id, name, "pod name")
  if not okid then fail("recipe", (tostring(err):gsub("^[^:]+:%d+: ", ""))) end
  local machine = t.machine or arch.default_machine
  if not arch.machines[machine] then
    local names = {}
    for k in pairs(arch.machines) do names[#names + 1] = k end
    table.sort(names)
    fail("recipe", "pod: machine '" .. machine .. "' is not one of " .. arch.name .. "'s: " ..
         table.concat(names, ", "), 1)
  end
  local vcpus, max = t.vcpus or 1, t.max_vcpus or t.vcpus or 1
  if vcpus > max then
    fail("recipe", ("pod: vcpus (%d) is above max_vcpus (%d)"):format(vcpus, max), 1)
  end
  if max > arch.max_vcpus then
    fail("recipe", ("pod: max_vcpus (%d) is above %s's limit (%d)"):format(max, arch.name,
         arch.max_vcpus), 1)
  end
  if t.max_memory and t.max_memory < (t.memory or arch.default_memory) then
    fail("recipe", "pod: max_memory is below memory", 1)
  end
  local pod = setmetatable({spec = t, arch = arch, name = name, machine = machine}, Pod)
  -- Build once now so that every device error points at the pod() call.
  local okargv, e = pcall(pod.argv, pod)
  if not okargv then
    fail(type(e) == "table" and e.kind or "recipe", (tostring(e):gsub("^[^:]+:%d+: ", "")))
  end
  return pod
end

function Pod:accel()
  return self.spec.accel or M.options.accel or (kvm_usable() and "kvm" or "tcg")
end

-- The device list: {kind, fields} pairs, in command-line order.
function Pod:devices(extra)
  local t, arch = self.spec, self.arch
  local accel = self:accel()
  local d = {
    {"name", {name = self.name}},
    {"machine", {type = self.machine, accel = accel}},
    {"cpu", {model = arch.cpu(t, accel)}},
    {"smp", arch.smp(t)},
    {"memory", arch.memory(t)},
    {"flags", {nodefaults = true, no_user_config = true, nographic = true,
               no_reboot = t.no_reboot, freeze = t.freeze}},
  }
  for _, dev in ipairs(arch.console("console")) do d[#d + 1] = dev end
  if t.kernel then
    d[#d + 1] = {"kernel", {path = t.kernel.path, initrd = t.kernel.initrd,
                            append = arch:cmdline(t)}}
  end
  for _, dev in ipairs(t.devices or {}) do d[#d + 1] = dev end
  for _, dev in ipairs(extra or {}) do d[#d + 1] = dev end
  return d
end

--- The QEMU argv as a Lua array. extra: more {kind, fields} devices.
function Pod:argv(extra)
  local argv = {self.arch.binary}
  for i, dev in ipairs(self:devices(extra)) do
    if type(dev) ~= "table" or type(dev[1]) ~= "string" or type(dev[2]) ~= "table" then
      error(core.error("recipe", ("devices[%d]: expected {kind, {fields}}"):format(i)), 0)
    end
    local args = core.emit(dev[1], dev[2])
    table.move(args, 1, #args, #argv + 1, argv)
  end
  return argv
end

function Pod:start()
  return M.start(self)
end

-- ---- the console --------------------------------------------------------

local Console = {}
Console.__index = Console

local function new_console(log_path)
  return setmetatable({lines = {}, first = 1, pos = 1, cond = core.cond(),
                       log = log_path and io.open(log_path, "a")}, Console)
end

function Console:_push(line)
  self.lines[#self.lines + 1] = line
  -- a ring of the last 1000 lines
  if #self.lines - self.first >= 1000 then
    self.lines[self.first] = nil
    self.first = self.first + 1
    if self.pos < self.first then self.pos = self.first end
  end
  if self.log then self.log:write(line, "\n") self.log:flush() end
  if M.options.echo_console then io.stdout:write(line, "\n") io.stdout:flush() end
  self.cond:signal()
end

--- Waits for a line matching the Lua pattern; returns the line. Lines are
--- consumed: the next expect searches after the match.
function Console:expect(pattern, timeout)
  timeout = timeout or 30
  local deadline = core.now() + timeout
  while true do
    for i = self.pos, #self.lines do
      if self.lines[i]:find(pattern) then
        self.pos = i + 1
        return self.lines[i]
      end
    end
    self.pos = #self.lines + 1
    local left = deadline - core.now()
    if self.closed or left <= 0 or not self.cond:wait(left) and core.now() >= deadline then
      local last = {}
      for i = math.max(self.first, #self.lines - 9), #self.lines do last[#last + 1] = self.lines[i] end
      fail(self.closed and "process" or "timeout",
           ("console: no line matching %q %s; last lines:\n%s"):format(pattern,
             self.closed and "before the VM exited" or ("within " .. timeout .. "s"),
             table.concat(last, "\n")), 1)
    end
  end
end

--- The lines kept (the last 1000), oldest first.
function Console:history()
  return table.move(self.lines, self.first, #self.lines, 1, {})
end

-- ---- VMs ----------------------------------------------------------------

local VM = {}
VM.__index = VM

local function cleanup(vm)
  if vm.qmp then vm.qmp:close() end
  if vm.console.log then vm.console.log:close() vm.console.log = nil end
  vm.console.closed = true
  vm.console.cond:signal()
  if vm.dir then core.rundir_remove(vm.dir) vm.dir = nil end
end

--- Starts the pod's QEMU and returns a VM once QMP is negotiated.
function M.start(pod, opts)
  opts = opts or {}
  local dir = core.rundir(pod.name, M.options.runtime_dir)
  local ok, vm = pcall(function()
    local qmp_path = core.socket_path(dir, "qmp.sock")
    local listener = core.listen(qmp_path)
    local argv = pod:argv{
      {"chardev", {backend = "socket", id = "qmp", fd = 3, server = true, wait = false}},
      {"mon", {chardev = "qmp"}},
      {"pidfile", {path = dir .. "/pid"}},
    }
    local vm = setmetatable({pod = pod, dir = dir, argv = argv, handlers = {},
                             events = {}, event_cond = core.cond(), exit_cond = core.cond(),
                             console = new_console(dir .. "/console.log")}, VM)
    vm.proc = core.process{argv = argv, fds = {listener:fileno()},
      on_line = function(stream, line)
        if stream == "stdout" then vm.console:_push(line)
        else io.stderr:write(pod.name, ": ", line, "\n") end
      end}
    listener:close()
    -- The watcher: reaps QEMU, then releases everything the VM holds.
    M._live[vm] = true
    core.spawn(function()
      vm.exit = vm.proc:wait()
      M._live[vm] = nil
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
    pcall(core.rundir_remove, dir)
    fail(vm.kind, vm.message, 2)
  end
  return vm
end

function VM:_check()
  if self.exit then fail("process", self.pod.name .. ": the VM has exited", 2) end
end

--- Runs a QMP command; returns its "return" value.
function VM:execute(command, args, timeout)
  self:_check()
  return self.qmp:execute(command, args, timeout)
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
    if self.exit then fail("disconnected", "wait_event " .. name .. ": the VM exited", 1) end
    if left <= 0 then fail("timeout", ("wait_event %s: none within %gs"):format(name, timeout), 1) end
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
  local steps = {
    function() pcall(self.qmp.execute, self.qmp, "system_powerdown", nil, t) end,
    function() pcall(self.qmp.execute, self.qmp, "quit", nil, t) end,
    function() self.proc:kill(15) end,
    function() self.proc:kill(9) end,
  }
  for _, step in ipairs(steps) do
    if self.exit then break end
    step()
    if wait_exit(self, t) then break end
  end
  return self:wait()
end

return M
