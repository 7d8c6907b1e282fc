-- Pods: a pod table checked against the concept rows (vclaunch.concepts)
-- and its arch, and the QEMU argv built through the arch policy's
-- appenders and the core's kinds.
local errors = require "vclaunch.errors"
local schema = require "vclaunch.schema"
local options = require "vclaunch.options"
local host_facts = require "vclaunch.host"
local archs = require "vclaunch.arch"
local concepts = require "vclaunch.concepts"

local M = {}

local fail = errors.fail
local function host() return host_facts end

local Pod = {}
Pod.__index = Pod
M.Pod = Pod

-- Checks the pod table against the schema, the arch and the rows' rules;
-- returns the policy and the pod as the policy sees it (machine and name
-- filled in). Raises a message or an error object.
local function validate(t)
  schema.check_record(t, concepts.POD, "pod")
  local arch = archs.resolve(t.arch or "amd64")
  local view = {}
  for k, v in pairs(t) do view[k] = v end
  -- sizes as the rows and the arch read them: MiB
  for _, row in ipairs(concepts.rows) do
    if row.field and row.schema and row.schema.type == "size" and t[row.field] ~= nil then
      view[row.field] = schema.size_mib(t[row.field])
    end
  end
  view.machine, view.name, view.arch = t.machine or arch.default_machine, t.name or "vm", arch.name
  concepts.check_pod(view, arch)
  return arch, view
end

--- Validates a pod table and returns a Pod.
---@param t table
function M.pod(t)
  if type(t) ~= "table" then fail("usage", "vclaunch.pod: expected a table") end
  local ok, arch, view = pcall(validate, t)
  if not ok then errors.rethrow(arch, "recipe") end
  local pod = setmetatable({spec = view, arch = arch, name = view.name,
                            machine = view.machine}, Pod)
  -- Build once now so that every device error points at the pod() call.
  local okargv, e = pcall(pod.argv, pod)
  if not okargv then errors.rethrow(e, "recipe") end
  return pod
end

--- The accelerator: the pod's, else --accel's, else kvm when /dev/kvm opens
--- and the pod's arch is the host's, else tcg.
function Pod:accel()
  return self.spec.accel or options.accel or
         (self.arch.name == host().arch and host().kvm and "kvm" or "tcg")
end

--- The host facts the policies are given (vclaunch.host).
function Pod:host() return host() end

--- Whether the policy's virtio PCI devices are legacy-only (KVM inside a VM).
function Pod:nested()
  return archs.call(self.arch, "nested", self:accel(), host()) and true or false
end

-- The device list: {kind, fields} pairs in command-line order, and where
-- each comes from (concepts' from records: origin "pod.drives[2]", ...).
function Pod:_build()
  local b = concepts.builder(self.arch, self.spec, self:accel(), nil, self:nested(), host())
  local devs, froms = concepts.build_pod(b)
  return devs, froms, b.ctx
end

--- The pod's devices, {kind, fields} pairs in command-line order.
function Pod:devices()
  return (self:_build())
end

-- The argv of the pod's own devices, the ids they use and the ctx that
-- placed them, built once per accelerator: a pod is a snapshot of its
-- table, checked by vclaunch.pod and started from the same arguments.
function Pod:_base()
  local accel = self:accel()
  local c = self._cache
  if c and c.accel == accel then return c end
  local argv, seen = {self.arch.binary}, {}
  for id, what in pairs(concepts.RESERVED_IDS) do seen[id] = what end
  local devs, froms, ctx = self:_build()
  for i, dev in ipairs(devs) do
    local args = concepts.emit(dev, froms[i], seen, i)
    table.move(args, 1, #args, #argv + 1, argv)
  end
  c = {accel = accel, argv = argv, seen = seen, ctx = ctx}
  self._cache = c
  return c
end

--- A copy of the placement state the pod's own devices left (id, chassis
--- and devno counters, the shared controllers), for devices added later
--- (hotplug): build_item with it continues where the pod stopped.
function Pod:placement()
  local ctx = self:_base().ctx
  local copy = {}
  for k, v in pairs(ctx) do copy[k] = v end
  copy.counters = {}
  for k, v in pairs(ctx.counters or {}) do copy.counters[k] = v end
  return copy
end

--- The recipe's open fds QEMU gets at start, in the order the argv names
--- them (as 4, 5, ...): endpoints' tap fds, vsock's vhostfd.
function Pod:passed_fds()
  local fds = self:_base().ctx.passed_fds or {}
  return table.move(fds, 1, #fds, 1, {})
end

--- The QEMU argv as a Lua array. extra: more {kind, fields} devices, placed
--- before extra_args.
function Pod:argv(extra)
  local c = self:_base()
  local argv = table.move(c.argv, 1, #c.argv, 1, {})
  local seen = {}
  for id, what in pairs(c.seen) do seen[id] = what end
  for i, dev in ipairs(extra or {}) do
    local args = concepts.emit(dev, nil, seen, i)
    table.move(args, 1, #args, #argv + 1, argv)
  end
  for i, a in ipairs(self.spec.extra_args or {}) do
    for id in a:gmatch("%f[%w]id=([^,]+)") do
      if seen[id] then
        errors.fail("recipe", ("pod.extra_args[%d]: id '%s' is already used by %s"):format(
                    i, id, seen[id]))
      end
    end
    argv[#argv + 1] = a
  end
  return argv
end

return M
