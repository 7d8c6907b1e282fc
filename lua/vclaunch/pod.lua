-- Pods: the pod schema, validation against it and the arch, and the QEMU
-- argv built through the arch policy's appenders and the core's kinds.
local core = require "vclaunch.core"
local errors = require "vclaunch.errors"
local schema = require "vclaunch.schema"
local options = require "vclaunch.options"
local host_facts = require "vclaunch.host"

local M = {}

local fail, suggest = errors.fail, errors.suggest
local record, list = schema.record, schema.list
local STR, PATH, BOOL, ID = schema.STR, schema.PATH, schema.BOOL, schema.ID
local check_record, is_policy, got = schema.check_record, schema.is_policy, schema.got
local function host() return host_facts end

local KERNEL = record{path = {type = "path", required = true}, initrd = PATH, params = STR,
                      debug = BOOL}
local VOLUME = record{id = ID, host_path = {type = "path", required = true},
                      tag = {type = "string", required = true},
                      type = {type = "string", values = {"9p", "virtio-fs"}},
                      readonly = BOOL, socket = PATH}
local SOCKET = record{id = ID, name = {type = "string", required = true}, path = PATH,
                      backend = {type = "string",
                                 values = {"socket", "pipe", "file", "pty", "null"}}}
local ENDPOINT = record{id = ID, type = {type = "string", required = true,
                                         values = {"tap", "user", "vhost-user"}},
                        ifname = STR, fds = list{type = "integer", min = 0}, mac = STR,
                        queues = {type = "integer", min = 1}, vhost = BOOL, socket = PATH}
local DRIVE = record{id = ID, file = {type = "path", required = true},
                     format = {type = "string", values = {"raw", "qcow2"}}, readonly = BOOL,
                     serial = STR, aio = {type = "string", values = {"threads", "native",
                                                                      "io_uring"}},
                     interface = {type = "string", values = {"virtio", "scsi"}}}
local VHOST_USER = record{id = ID, type = {type = "string", required = true,
                                           values = {"blk", "scsi", "fs"}},
                          socket = {type = "path", required = true}, tag = STR}
local VFIO = record{id = ID, host = STR, sysfsdev = PATH}
local VSOCK = record{cid = {type = "integer", required = true, min = 3, max = 4294967295},
                     vhostfd = {type = "integer", min = 3}}
local RNG = record({backend = {type = "string", values = {"random", "builtin"}},
                    filename = PATH, max_bytes = {type = "integer", min = 1},
                    period = {type = "integer", min = 1}}, {type = {"boolean", "record"}})
local BALLOON = record({deflate_on_oom = BOOL, free_page_reporting = BOOL},
                       {type = {"boolean", "record"}})
local KNOBS = record{hugepages = BOOL, prealloc = BOOL, shared_memory = BOOL, mlock = BOOL,
                     no_reboot = BOOL}

local POD = record{
  name = STR, uuid = STR, arch = {type = "arch"}, machine = STR,
  accel = {type = "string", values = {"kvm", "tcg"}}, cpu = STR,
  vcpus = {type = "integer", min = 1}, max_vcpus = {type = "integer", min = 1},
  memory = {type = "integer", min = 1}, max_memory = {type = "integer", min = 1},
  memory_slots = {type = "integer", min = 1, max = 256}, kernel = KERNEL,
  firmware = {type = {"path", "list"}, items = PATH}, image = PATH,
  volumes = list(VOLUME), sockets = list(SOCKET), endpoints = list(ENDPOINT),
  drives = list(DRIVE), vhost_user = list(VHOST_USER), vfio = list(VFIO), vsock = VSOCK,
  rng = RNG, balloon = BALLOON, iommu = BOOL, pvpanic = BOOL,
  bridges = {type = "integer", min = 0, max = 30}, knobs = KNOBS,
  devices = {type = "list", items = {type = "any"}}, extra_args = list(STR),
  no_reboot = BOOL, freeze = BOOL,
}


-- Options vclaunch sets itself: an extra_args entry may not repeat them.
local OWN_OPTIONS = {
  ["-m"] = "pod.memory", ["-smp"] = "pod.vcpus", ["-machine"] = "pod.machine",
  ["-M"] = "pod.machine", ["-accel"] = "pod.accel", ["-enable-kvm"] = "pod.accel",
  ["-cpu"] = "pod.cpu", ["-name"] = "pod.name",
  ["-uuid"] = "pod.uuid", ["-kernel"] = "pod.kernel", ["-initrd"] = "pod.kernel",
  ["-append"] = "pod.kernel", ["-bios"] = "pod.firmware", ["-qmp"] = "vclaunch's QMP monitor",
  ["-qmp-pretty"] = "vclaunch's QMP monitor", ["-mon"] = "vclaunch's QMP monitor",
  ["-monitor"] = "vclaunch's QMP monitor", ["-pidfile"] = "vclaunch's pidfile",
  ["-daemonize"] = "vclaunch's process supervision",
  ["-nodefaults"] = "vclaunch's flags", ["-no-user-config"] = "vclaunch's flags",
  ["-nographic"] = "vclaunch's flags", ["-display"] = "vclaunch's flags (-nographic)",
  ["-no-reboot"] = "pod.knobs.no_reboot", ["-S"] = "pod.freeze",
}

local KNOWN_ARCHES = {"amd64", "arm64", "ppc64le", "s390x"}

local function load_arch(name)
  if name == "base" or not name:match("^[%w_]+$") then return nil end
  local modname = "vclaunch.arch." .. name
  -- no such module: an unknown arch; one that fails to load: its own error
  if not package.preload[modname] and not package.searchpath(modname, package.path) then
    return nil
  end
  local ok, arch = pcall(require, modname)
  if not ok then fail("io", "cannot load the " .. name .. " policy: " .. tostring(arch)) end
  if is_policy(arch) then return arch end
  return nil
end

--- The policy of an architecture ("amd64", ...): a table whose methods
--- build the command line. policy:extend{...} returns a new policy with
--- fields and methods replaced, for vclaunch.pod{arch = policy}.
function M.arch(name)
  if type(name) ~= "string" then
    fail("usage", "vclaunch.arch: expected an arch name, got " .. got(name))
  end
  local arch = load_arch(name)
  if not arch then
    fail("recipe", "vclaunch.arch: unknown arch '" .. name .. "'" ..
         suggest(name, KNOWN_ARCHES))
  end
  return arch
end

local Pod = {}
Pod.__index = Pod
M.Pod = Pod

-- Checks the pod table against the schema and the arch; raises a string.
local function validate(t)
  check_record(t, POD, "pod")
  local arch = t.arch or "amd64"
  if type(arch) == "string" then
    local a = load_arch(arch)
    if not a then error("pod: unknown arch '" .. arch .. "'" .. suggest(arch, KNOWN_ARCHES), 0) end
    arch = a
  end
  local name = t.name or "vm"
  local okid, err = pcall(core.check_id, name, "pod name")
  if not okid then error(err.message, 0) end
  local machine = t.machine or arch.default_machine
  if not arch.machines[machine] then
    local names = {}
    for k in pairs(arch.machines) do names[#names + 1] = k end
    table.sort(names)
    error("pod: machine '" .. machine .. "' is not one of " .. arch.name .. "'s: " ..
          table.concat(names, ", "), 0)
  end
  local vcpus, max = t.vcpus or 1, t.max_vcpus or t.vcpus or 1
  if vcpus > max then
    error(("pod: vcpus (%d) is above max_vcpus (%d)"):format(vcpus, max), 0)
  end
  if max > arch.max_vcpus then
    error(("pod: %s (%d) is above %s's limit (%d)"):format(t.max_vcpus and "max_vcpus" or "vcpus",
          max, arch.name, arch.max_vcpus), 0)
  end
  if t.max_memory and t.max_memory < (t.memory or arch.default_memory) then
    error("pod: max_memory is below memory", 0)
  end
  if t.memory_slots and not t.max_memory then
    error("pod: memory_slots needs max_memory", 0)
  end
  local caps = arch.capabilities or {}
  if t.volumes and #t.volumes > 0 and caps.fs_sharing == false then
    error("pod: volumes: " .. arch.name .. " has no file system sharing", 0)
  end
  if t.max_memory and caps.memory_hotplug == false then
    error("pod: max_memory: " .. arch.name .. " has no memory hotplug", 0)
  end
  for i, e in ipairs(t.endpoints or {}) do
    if e.queues and e.queues > 1 and caps.multiqueue == false then
      error(("pod.endpoints[%d]: queues: %s has no multiqueue"):format(i, arch.name), 0)
    end
    if e.type == "tap" and (e.ifname == nil) == (e.fds == nil) then
      error(("pod.endpoints[%d]: a tap needs exactly one of ifname and fds"):format(i), 0)
    end
    if e.type == "vhost-user" and not e.socket then
      error(("pod.endpoints[%d]: missing required field 'socket' (vhost-user)"):format(i), 0)
    end
  end
  for i, v in ipairs(t.volumes or {}) do
    if v.type == "virtio-fs" and not v.socket then
      error(("pod.volumes[%d]: missing required field 'socket' (virtio-fs)"):format(i), 0)
    end
  end
  for i, v in ipairs(t.vhost_user or {}) do
    if v.type == "fs" and not v.tag then
      error(("pod.vhost_user[%d]: missing required field 'tag' (fs)"):format(i), 0)
    end
  end
  for i, v in ipairs(t.vfio or {}) do
    if (v.host == nil) == (v.sysfsdev == nil) then
      error(("pod.vfio[%d]: needs exactly one of host and sysfsdev"):format(i), 0)
    end
  end
  for i, d in ipairs(t.devices or {}) do
    if type(d) ~= "table" or type(d[1]) ~= "string" or type(d[2]) ~= "table" then
      error(("pod.devices[%d]: expected {kind, {fields}}"):format(i), 0)
    end
  end
  for i, a in ipairs(t.extra_args or {}) do
    local flag = a:gsub("^%-%-", "-")
    if OWN_OPTIONS[flag] then
      error(("pod.extra_args[%d]: '%s' conflicts with what vclaunch sets: %s"):format(i, a,
            OWN_OPTIONS[flag]), 0)
    end
  end
  -- What the policy sees: the pod's fields with the machine filled in.
  local view = {}
  for k, v in pairs(t) do view[k] = v end
  view.machine, view.name, view.arch = machine, name, arch.name
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

local function add(d, origins, list, origin)
  for _, dev in ipairs(list or {}) do
    d[#d + 1] = dev
    origins[#d] = origin
  end
end

-- The device list: {kind, fields} pairs, in command-line order, and where
-- each comes from ("pod.drives[2]", "vclaunch").
-- The kinds that have a disable_modern field, from the core's tables, once.
local legacy_set
local function legacy_kinds()
  if not legacy_set then
    legacy_set = {}
    for name, k in pairs(core.kinds()) do
      for _, field in ipairs(k.fields) do
        if field.name == "disable_modern" then legacy_set[name] = true end
      end
    end
  end
  return legacy_set
end

function Pod:_build(extra)
  local t, arch = self.spec, self.arch
  local accel = self:accel()
  local ctx = arch:new_ctx(t)
  -- The pod's devices first: they tell whether memory must be shared.
  local devs, dorigins = {}, {}
  local function each(field, fn)
    for i, item in ipairs(t[field] or {}) do
      add(devs, dorigins, fn(arch, ctx, item), ("pod.%s[%d]"):format(field, i))
    end
  end
  -- The IOMMU first: PCI devices created before it would bypass it.
  if t.iommu then add(devs, dorigins, arch:append_iommu(ctx), "pod.iommu") end
  if t.image then add(devs, dorigins, arch:append_image(ctx, t.image), "pod.image") end
  each("volumes", arch.append_volume)
  each("sockets", arch.append_socket)
  each("endpoints", arch.append_endpoint)
  each("drives", arch.append_drive)
  each("vhost_user", arch.append_vhost_user)
  each("vfio", arch.append_vfio)
  if t.vsock then add(devs, dorigins, arch:append_vsock(ctx, t.vsock), "pod.vsock") end
  if t.rng then add(devs, dorigins, arch:append_rng(ctx, t.rng), "pod.rng") end
  if t.balloon then add(devs, dorigins, arch:append_balloon(ctx, t.balloon), "pod.balloon") end
  if t.pvpanic then add(devs, dorigins, arch:append_pvpanic(ctx), "pod.pvpanic") end
  if t.bridges and t.bridges > 0 then
    add(devs, dorigins, arch:bridges(ctx, t.bridges), "pod.bridges")
  end
  if arch:nested(accel, host()) then
    -- legacy virtio for what the policy made (not for raw devices)
    local legacy = legacy_kinds()
    for _, dev in ipairs(devs) do
      local f = dev[2]
      if legacy[dev[1]] and f.disable_modern == nil and (f.transport or "pci") == "pci" then
        f.disable_modern = true
      end
    end
  end

  local d, origins = {}, {}
  local machine = arch:machine(t, accel)
  local backend = arch:memory_backend(ctx, t)
  if backend then machine.memory_backend = backend[2].id end
  add(d, origins, {{"name", {name = self.name}}}, "pod.name")
  if t.uuid then add(d, origins, {{"uuid", {uuid = t.uuid}}}, "pod.uuid") end
  add(d, origins, {{"machine", machine}}, "pod.machine")
  add(d, origins, {{"cpu", {model = arch:cpu(t, accel)}}}, "pod.cpu")
  add(d, origins, {{"smp", arch:smp(t)}}, "pod.vcpus")
  add(d, origins, {{"memory", arch:memory(t)}}, "pod.memory")
  if backend then add(d, origins, {backend}, "pod.knobs") end
  if t.knobs and t.knobs.mlock then
    add(d, origins, {{"overcommit", {mem_lock = true}}}, "pod.knobs.mlock")
  end
  add(d, origins, {{"flags", arch:flags(t)}}, "vclaunch")
  if t.firmware then add(d, origins, arch:firmware(ctx, t.firmware), "pod.firmware") end
  add(d, origins, arch:console(ctx, "console"), "the console")
  if t.kernel then
    add(d, origins, {{"kernel", {path = t.kernel.path, initrd = t.kernel.initrd,
                                 append = arch:cmdline(t)}}}, "pod.kernel")
  end
  add(d, origins, devs, nil)
  for i = 1, #devs do origins[#d - #devs + i] = dorigins[i] end
  for i, dev in ipairs(t.devices or {}) do
    add(d, origins, {dev}, ("pod.devices[%d]"):format(i))
  end
  add(d, origins, extra, "vclaunch")
  return d, origins
end

function Pod:devices(extra)
  return (self:_build(extra))
end

-- Ids vclaunch gives its own devices when it starts a pod.
local RESERVED_IDS = {qmp = "chardev (vclaunch's QMP monitor)"}

-- Fields that name the device (or an object it creates): ids must differ.
local function ids_of(kind, fields)
  local own_chardev = kind:match("^vhost%-user%-") ~= nil
  local out = {}
  for k, v in pairs(fields) do
    if type(k) == "string" and type(v) == "string" and
       (k == "id" or k:match("_id$") or (own_chardev and k == "chardev")) then
      out[#out + 1] = v
    end
  end
  table.sort(out)
  return out
end

-- Emits devs (with their origins) onto argv, refusing an id seen before.
local function emit_all(argv, devs, origins, seen)
  for i, dev in ipairs(devs) do
    if type(dev) ~= "table" or type(dev[1]) ~= "string" or type(dev[2]) ~= "table" then
      error(core.error("recipe", ("devices[%d]: expected {kind, {fields}}"):format(i)), 0)
    end
    local args = core.emit(dev[1], dev[2])
    for _, id in ipairs(ids_of(dev[1], dev[2])) do
      local where = ("%s (%s)"):format(dev[1], origins[i] or "vclaunch")
      if seen[id] == RESERVED_IDS[id] and origins[i] == "vclaunch" then
        seen[id] = nil -- vclaunch's own device, where the id was kept for it
      end
      if seen[id] then
        error(core.error("recipe", ("pod: duplicate id '%s': %s and %s"):format(id, seen[id],
              where)), 0)
      end
      seen[id] = where
    end
    table.move(args, 1, #args, #argv + 1, argv)
  end
end

-- The argv of the pod's own devices and the ids they use, built once per
-- accelerator: a pod is a snapshot of its table, checked by vclaunch.pod
-- and started from the same arguments.
function Pod:_base()
  local accel = self:accel()
  local c = self._cache
  if c and c.accel == accel then return c end
  local argv, seen = {self.arch.binary}, {}
  for id, what in pairs(RESERVED_IDS) do seen[id] = what end
  local devs, origins = self:_build()
  emit_all(argv, devs, origins, seen)
  c = {accel = accel, argv = argv, seen = seen}
  self._cache = c
  return c
end

--- The QEMU argv as a Lua array. extra: more {kind, fields} devices, placed
--- before extra_args.
function Pod:argv(extra)
  local c = self:_base()
  local argv = table.move(c.argv, 1, #c.argv, 1, {})
  local seen = {}
  for id, what in pairs(c.seen) do seen[id] = what end
  local origins = {}
  for i = 1, #(extra or {}) do origins[i] = "vclaunch" end
  emit_all(argv, extra or {}, origins, seen)
  for i, a in ipairs(self.spec.extra_args or {}) do
    for id in a:gmatch("%f[%w]id=([^,]+)") do
      if seen[id] then
        error(core.error("recipe", ("pod.extra_args[%d]: id '%s' is already used by %s"):format(
              i, id, seen[id])), 0)
      end
    end
    argv[#argv + 1] = a
  end
  return argv
end

--- Starts the pod: see vclaunch.start. opts: timeout (QMP, seconds),
--- freeze (start with the vCPUs stopped, as if pod.freeze were set).

return M
