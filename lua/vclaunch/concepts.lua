-- Pod concepts, one row each: a pod field (kernel, volumes, drives, ...),
-- its schema, the rules that span fields, the capability that gates it,
-- the arch method that turns it into devices, and which kind field each
-- of its item's fields lands in (so that a device error names the field
-- the recipe wrote). vclaunch.pod checks and builds a pod by walking the
-- rows; a hot-plugged item goes through the same row (check_item,
-- build_item, emit).
--
-- A row:
--   field       the pod field; nil for what vclaunch adds itself (flags,
--               the console)
--   origin      where its devices come from in messages, when that is not
--               "pod.<field>"
--   schema      the field's spec (vclaunch.schema)
--   items       true: the field is a list of items, each one checked,
--               built and hot-plugged on its own ("pod.drives[2]")
--   capability  a name in arch.capabilities: false there refuses the field
--   checks      functions (value, pod, arch, index) -> nil, or a message
--               and optionally the item field it is about; a check may
--               also raise a message as it is
--   prepare     function (item, pod, index) -> the item the appender gets
--               (defaults vclaunch fills in)
--   append      the arch method called as arch:append(ctx, item) -> a list
--               of {kind, fields}
--   build       function (b, value) -> devices[, origins], for rows built
--               from the pod rather than an appender (b: arch, ctx, pod,
--               accel)
--   present     function (value) -> whether there is something to build
--               (default: the value is neither nil nor false)
--   fields      item field -> the kind field(s) it lands in ("field", or
--               "kind.field" where kinds differ), for error messages
--   raw         the items are devices as the recipe wrote them: their
--               errors are the kinds' own
-- Where a value's messages point: "pod.<field>[i]" for items, "pod.<field>"
-- for a table, else "pod" (and then fields maps pod fields).
--
-- The list is in command-line order. Rows with an appender are built
-- first (in this order: their ctx ids come out so, and they tell the
-- memory backend whether guest memory must be shared), then the others.
local core = require "vclaunch.core"
local errors = require "vclaunch.errors"
local schema = require "vclaunch.schema"
local archs = require "vclaunch.arch"
local helpers = require "vclaunch.helpers"
local forward = require "vclaunch.forward"

local M = {}

local record, list = schema.record, schema.list
local STR, PATH, BOOL, ID = schema.STR, schema.PATH, schema.BOOL, schema.ID
local call = archs.call

-- The most memory a host could ever map, MiB (16 TiB): QEMU cannot start
-- a guest above it.
M.MAX_MEMORY = 16 * 1024 * 1024

-- ---- the kinds' tables, read once ---------------------------------------

local kind_facts = {}
-- Per kind: the default transport (nil: no transport field), whether it
-- has disable_modern (legacy), a bus field (bus) and a device_id field
-- (device_id). Read per kind when first asked for: every kind's table at
-- once (core.kinds()) costs more than loading all of vclaunch's modules.
local function kind_info(kind)
  local info = kind_facts[kind]
  if info then return info end
  local k = type(kind) == "string" and core.kinds(kind)
  if not k then return {} end
  info = {}
  for _, f in ipairs(k.fields) do
    if f.name == "transport" then info.transport = f.default or false end
    if f.name == "disable_modern" then info.legacy = true end
    if f.name == "bus" then info.bus = true end
    if f.name == "device_id" then info.device_id = true end
  end
  kind_facts[kind] = info
  return info
end
M.kind_info = kind_info

-- ---- shared checks ------------------------------------------------------

local function caps(arch) return arch.capabilities or {} end

-- What a capability turned off says (arch name, machine).
local CAPABILITIES = {
  fs_sharing = "%s has no file system sharing",
  memory_hotplug = "%s has no memory hotplug",
  multiqueue = "%s has no multiqueue",
  virtio_mem = "%s has no virtio-mem in QEMU 7.2",
  pvpanic = "not available on %s machine %s",
  rng = "%s has no virtio-rng",
}

local function is_device(d)
  return type(d) == "table" and type(d[1]) == "string" and type(d[2]) == "table"
end

local function dev_name(kind, fields)
  local id = fields.id or fields.chardev
  return type(id) == "string" and ("%s '%s'"):format(kind, id) or kind
end

-- The transports the pod's machine has: machines[type].transports, else
-- its one transport.
local function transports(arch, pod)
  local info = arch.machines[pod.machine] or {}
  return info.transports or {info.transport or "pci"}
end

-- A message when the device asks for a transport (its own or its kind's
-- default) the pod's machine does not have, else nil.
local function transport_error(dev, pod, arch)
  local default = kind_info(dev[1]).transport
  if default == nil then return nil end
  local want = dev[2].transport
  if want == nil then want = default end
  if not want then return nil end -- a transport field without a default, left unset
  local have = transports(arch, pod)
  for _, t in ipairs(have) do
    if t == want then return nil end
  end
  return ("%s: field 'transport': machine %s has no %s transport (it has: %s)"):format(
         dev_name(dev[1], dev[2]), pod.machine, tostring(want), table.concat(have, ", "))
end

local function uses_stdio(dev)
  return is_device(dev) and dev[1] == "chardev" and dev[2].backend == "stdio"
end

-- Who holds QEMU's stdio ahead of item, in command-line order (the console,
-- the sockets, the raw chardevs), or nil: QEMU gives stdio to one chardev.
local function stdio_holder(item, pod, arch)
  local ctx = call(arch, "new_ctx", pod)
  for _, dev in ipairs(call(arch, "console", ctx, "console") or {}) do
    if uses_stdio(dev) then return ("the console (chardev '%s')"):format(dev[2].id) end
  end
  for i, s in ipairs(pod.sockets or {}) do
    if s == item then return nil end
    if s.backend == "stdio" then return ("pod.sockets[%d]"):format(i) end
  end
  for i, d in ipairs(pod.devices or {}) do
    if d == item then return nil end
    if uses_stdio(d) then return ("pod.devices[%d]"):format(i) end
  end
  return nil
end

local function stdio_taken(holder)
  return ("\"stdio\" is taken by %s; QEMU gives stdio to one chardev"):format(holder)
end

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
  ["-nographic"] = "vclaunch's flags", ["-display"] = "vclaunch's flags (-display none)",
  ["-no-reboot"] = "pod.knobs.no_reboot", ["-S"] = "pod.freeze",
}

-- Kinds whose options vclaunch sets itself: a raw device may not be one.
local OWN_KINDS = {
  name = "pod.name", uuid = "pod.uuid", machine = "pod.machine", cpu = "pod.cpu",
  smp = "pod.vcpus", memory = "pod.memory", kernel = "pod.kernel", bios = "pod.firmware",
  flags = "pod.freeze, pod.knobs and vclaunch's flags", pidfile = "vclaunch's pidfile",
  mon = "vclaunch's QMP monitor",
}

-- A MAC for an endpoint the recipe gave none, where the kind needs one:
-- 52:54:00 (QEMU's locally administered prefix) and three bytes of an
-- FNV-1a hash of the pod name and the endpoint's index, so that it stays
-- the same from start to start and differs between pods.
function M.mac(name, index)
  local h = 0x811c9dc5
  for c in (name .. "/" .. index):gmatch(".") do
    h = ((h ~ c:byte()) * 0x01000193) & 0xffffffff
  end
  return ("52:54:00:%02x:%02x:%02x"):format((h >> 16) & 0xff, (h >> 8) & 0xff, h & 0xff)
end

-- ---- the items' schemas ---------------------------------------------------

local KERNEL = record{path = {type = "path", required = true}, initrd = PATH, params = STR,
                      debug = BOOL}
local VOLUME = record{id = ID, host_path = {type = "path", required = true},
                      tag = {type = "string", required = true},
                      type = {type = "string", values = {"9p", "virtio-fs"}},
                      readonly = BOOL, socket = PATH,
                      cache = {type = "string", values = {"none", "auto", "always"}}}
local SOCKET = record{id = ID, name = {type = "string", required = true}, path = PATH,
                      backend = {type = "string",
                                 values = {"socket", "pipe", "file", "pty", "null", "stdio"}}}
local ENDPOINT = record{id = ID, type = {type = "string", required = true,
                                         values = {"tap", "user", "vhost-user"}},
                        ifname = STR, fds = list{type = "integer", min = 0}, mac = STR,
                        queues = {type = "integer", min = 1}, vhost = BOOL, socket = PATH,
                        forward = list(forward.RULE)}
-- the formats the disk kinds take (core: vc__drive_formats)
local DRIVE_FORMATS
for _, f in ipairs(core.kinds("virtio-blk").fields) do
  if f.name == "format" then DRIVE_FORMATS = f.values end
end
local DRIVE = record{id = ID, file = {type = "path", required = true},
                     format = {type = "string", values = DRIVE_FORMATS}, readonly = BOOL,
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
-- {name = boolean|integer}, or the cpu kind's text ("sse4.2=off,+avx")
local CPU_FEATURES = {type = {"string", "record"}}

local function always() return true end

-- A drive without a format is attached as raw only when its file has no
-- image header vclaunch knows (core.probe_format): a qcow2 written through
-- as raw is destroyed by the guest. Returns a message, or nil.
local function probe_drive(dr)
  if dr.format then return nil end
  local ok, fmt, what = pcall(core.probe_format, dr.file)
  if not ok then
    return ("%s; vclaunch reads a drive's header to tell its format: make it readable, " ..
            "or give format = \"raw\" (or the image's format) to skip the probe"):format(
            fmt.message), "file"
  end
  if not fmt then return nil end
  local thing = what == "block" and "block device" or "file"
  for _, f in ipairs(DRIVE_FORMATS) do
    if f == fmt then
      return ("%s %s holds a %s image, and a drive without format is attached as raw: set " ..
              "format = %q (or format = \"raw\" to give the guest its bytes as they are)"):format(
              thing, dr.file, fmt, fmt), "format"
    end
  end
  return ("%s %s holds a %s image, which vclaunch does not attach: convert it " ..
          "(qemu-img convert -O qcow2), or set format = \"raw\" to give the guest its bytes " ..
          "as they are"):format(thing, dr.file, fmt), "format"
end

-- The memory backend the knobs (and shared-memory devices) ask for, once
-- per build: the machine row names it, the knobs row emits it.
local function memory_backend(b)
  if b.backend == nil then b.backend = call(b.arch, "memory_backend", b.ctx, b.pod) or false end
  return b.backend or nil
end

local function memory_check(field)
  return function(v)
    if v and v > M.MAX_MEMORY then
      return ("%s (%d MiB) is above what a host can map (%d MiB, 16 TiB)"):format(field, v,
             M.MAX_MEMORY)
    end
  end
end

-- A table of CPU features: names as QEMU's -cpu parser takes them (no
-- comma: it splits at every one, doubled or not), values on/off or a
-- number. A string is the cpu kind's to check.
local function check_cpu_features(v)
  if type(v) ~= "table" then return nil end
  local names = {}
  for k in pairs(v) do names[#names + 1] = k end
  table.sort(names, function(a, b) return tostring(a) < tostring(b) end)
  for _, name in ipairs(names) do
    if type(name) ~= "string" or not name:match("^%w[%w._-]*$") then
      return ("feature %s: a name holds letters, digits, '.', '_' and '-' and starts with a "
              .. "letter or digit"):format(type(name) == "string" and ("%q"):format(name)
                                           or tostring(name))
    end
    local x = v[name]
    if type(x) ~= "boolean" and not (math.type(x) == "integer" and x >= 0) then
      return ("feature %q: expected a boolean (on/off) or an integer >= 0, got %s"):format(
             name, schema.got(x))
    end
  end
end

--- The cpu kind's features text for a cpu_features value: a string as it
--- is; a table {name = boolean|integer} as "name=on,name=off,name=N" in
--- name order; nil for nil or an empty table.
function M.cpu_features_text(v)
  if type(v) ~= "table" then return v end
  local names = {}
  for k in pairs(v) do names[#names + 1] = tostring(k) end
  table.sort(names)
  local items = {}
  for i, k in ipairs(names) do
    local x = v[k]
    items[i] = k .. "=" .. (x == true and "on" or x == false and "off" or tostring(x))
  end
  return #items > 0 and table.concat(items, ",") or nil
end

-- ---- the rows -------------------------------------------------------------

M.rows = {
  {field = "name", schema = STR, present = always,
   checks = {function(_, pod)
     local ok, err = pcall(core.check_id, pod.name, "pod name")
     if not ok then error(err.message, 0) end
   end},
   build = function(b) return {{"name", {name = b.pod.name}}} end,
   fields = {name = "name"}},
  {field = "uuid", schema = STR,
   build = function(_, v) return {{"uuid", {uuid = v}}} end,
   fields = {uuid = "uuid"}},
  {field = "arch", schema = {type = "arch"}},
  {field = "accel", schema = {type = "string", values = {"kvm", "tcg"}}},
  {field = "machine", schema = STR, present = always,
   checks = {function(_, pod, arch)
     if not arch.machines[pod.machine] then
       local names = {}
       for k in pairs(arch.machines) do names[#names + 1] = k end
       table.sort(names)
       return ("machine '%s' is not one of %s's: %s"):format(pod.machine, arch.name,
              table.concat(names, ", "))
     end
   end},
   build = function(b)
     local m = call(b.arch, "machine", b.pod, b.accel)
     local backend = memory_backend(b)
     if backend then m.memory_backend = backend[2].id end
     return {{"machine", m}}
   end,
   fields = {machine = "type"}},
  {field = "cpu", schema = STR, present = always,
   checks = {function(v)
     if v and v:find(",", 1, true) then
       return ("cpu %q holds a comma: QEMU's -cpu parser splits at every comma (doubled or " ..
               "not); give the features in cpu_features"):format(v)
     end
   end},
   build = function(b)
     return {{"cpu", {model = call(b.arch, "cpu", b.pod, b.accel),
                      features = M.cpu_features_text(call(b.arch, "cpu_features", b.pod,
                                                          b.accel))}}}
   end,
   fields = {cpu = "model", cpu_features = "features"}},
  {field = "cpu_features", schema = CPU_FEATURES, checks = {check_cpu_features}},
  {field = "vcpus", schema = {type = "integer", min = 1}, present = always,
   checks = {function(_, pod, arch)
     local vcpus, max = pod.vcpus or 1, pod.max_vcpus or pod.vcpus or 1
     if vcpus > max then
       return ("vcpus (%d) is above max_vcpus (%d)"):format(vcpus, max)
     end
     if max > arch.max_vcpus then
       return ("%s (%d) is above %s's limit (%d)"):format(pod.max_vcpus and "max_vcpus" or "vcpus",
              max, arch.name, arch.max_vcpus)
     end
   end},
   build = function(b) return {{"smp", call(b.arch, "smp", b.pod)}} end,
   fields = {vcpus = "cpus", max_vcpus = {"maxcpus", "sockets"}}},
  {field = "max_vcpus", schema = {type = "integer", min = 1}},
  -- memory sizes: MiB, or "512M"/"2G" (schema.size_mib); vclaunch.pod
  -- turns them into MiB before the checks and the arch see them
  {field = "memory", schema = {type = "size"}, present = always,
   checks = {memory_check("memory")},
   build = function(b) return {{"memory", call(b.arch, "memory", b.pod)}} end,
   fields = {memory = "size", max_memory = "maxmem", memory_slots = "slots"}},
  {field = "max_memory", schema = {type = "size"}, capability = "memory_hotplug",
   checks = {memory_check("max_memory"), function(v, pod, arch)
     if v < (pod.memory or arch.default_memory) then return "max_memory is below memory" end
   end}},
  {field = "memory_slots", schema = {type = "integer", min = 1, max = 256},
   checks = {function(_, pod)
     if not pod.max_memory then return "memory_slots needs max_memory" end
   end}},
  {field = "knobs", schema = KNOBS, present = always,
   build = function(b, k)
     local d, origins = {}, {}
     local backend = memory_backend(b)
     if backend then d[1], origins[1] = backend, "pod.knobs" end
     if k and k.mlock then
       d[#d + 1], origins[#d + 1] = {"overcommit", {mem_lock = true}}, "pod.knobs.mlock"
     end
     return d, origins
   end},
  {field = "freeze", schema = BOOL},
  {field = "no_reboot", schema = BOOL},
  -- vclaunch's own: the console line (a Lua pattern) that says the guest is
  -- ready (vm:ready(), a "guest-ready" event); no QEMU argument
  {field = "ready", schema = {type = "string"}, checks = {function(v)
     local ok, e = pcall(string.find, "", v)
     if not ok then return "ready: not a Lua pattern: " .. tostring(e) end
   end}},
  -- A guest reboot ends QEMU unless the pod asks for reboots.
  {field = "reboot", schema = BOOL,
   checks = {function(v, pod)
     if v and (pod.no_reboot or (pod.knobs or {}).no_reboot) then
       return "reboot = true contradicts no_reboot"
     end
   end}},
  {origin = "vclaunch", present = always,
   build = function(b) return {{"flags", call(b.arch, "flags", b.pod)}} end},
  -- The panic and reboot policy (arch action): a panic ends QEMU with status 1.
  {origin = "vclaunch's panic and reboot policy", present = always,
   build = function(b) return {{"action", call(b.arch, "action", b.pod)}} end},
  {field = "firmware", schema = {type = {"path", "list"}, items = PATH},
   build = function(b, v) return call(b.arch, "firmware", b.ctx, v) end,
   fields = {firmware = {"bios.path", "pflash.file"}}},
  {origin = "the console", present = always,
   build = function(b) return call(b.arch, "console", b.ctx, "console") end},
  {field = "kernel", schema = KERNEL,
   build = function(b, k)
     return {{"kernel", {path = k.path, initrd = k.initrd,
                         append = call(b.arch, "cmdline", b.pod, b.accel, b.host)}}}
   end,
   fields = {path = "path", initrd = "initrd", params = "append"}},

  -- The IOMMU first: PCI devices created before it would bypass it.
  {field = "iommu", schema = BOOL, append = "append_iommu"},
  {field = "image", schema = PATH, append = "append_image", fields = {image = "file"},
   checks = {function(v)
     -- the rootfs image is attached as raw: refuse one with an image header
     local ok, fmt = pcall(core.probe_format, v)
     if ok and fmt then
       return ("image: %s holds a %s image, and pod.image is attached as raw: attach it as a " ..
               "drive with format = %q"):format(v, fmt, fmt)
     end
   end}},
  -- A virtio-fs volume without a socket gets a virtiofsd vclaunch starts
  -- at pod:start(), or at vm:hotplug for a hot-plugged one
  -- (vclaunch.helpers), with cache and readonly; with a
  -- socket, the virtiofsd there is the recipe's, and so are its options.
  {field = "volumes", schema = list(VOLUME), items = true, capability = "fs_sharing",
   checks = {function(v)
     if v.type ~= "virtio-fs" then
       if v.cache ~= nil then return "goes with type = \"virtio-fs\" (virtiofsd's)", "cache" end
       return nil
     end
     if v.socket then
       if v.cache ~= nil then
         return "is an option of the virtiofsd vclaunch starts; the one on socket has its own",
                "cache"
       end
       if v.readonly then
         return "the virtiofsd on socket decides what the guest may write: start it read-only, " ..
                "or leave socket out", "readonly"
       end
       return nil
     end
     if v.host_path:find("[,\\]") then
       return "holds a comma or a backslash, which virtiofsd's -o source= option splits at " ..
              "or takes as an escape", "host_path"
     end
   end},
   -- The argv is built once per pod, before any runtime dir exists: the
   -- socket of vclaunch's virtiofsd is named here by its file name in the
   -- runtime dir (what --dry-run shows), and pod:start() builds QEMU's argv
   -- from a copy of the pod that names the full path (helpers.plan).
   prepare = function(v, _, index)
     if not helpers.wants_virtiofsd(v) then return v end
     local t = {}
     for k, x in pairs(v) do t[k] = x end
     t.socket = helpers.socket_file(index)
     return t
   end,
   append = "append_volume",
   fields = {host_path = "path", tag = {"virtio-9p.mount_tag", "vhost-user-fs.tag"},
             readonly = "readonly", socket = "socket", id = {"virtio-9p.id", "vhost-user-fs.chardev"}}},
  -- The virtiofsd vclaunch starts for virtio-fs volumes without a socket
  -- (default: virtiofsd on PATH, /usr/libexec/virtiofsd,
  -- /usr/lib/qemu/virtiofsd).
  {field = "virtiofsd", schema = PATH},
  {field = "sockets", schema = list(SOCKET), items = true,
   checks = {function(s, pod, arch)
     if s.backend == "stdio" then
       local holder = stdio_holder(s, pod, arch)
       if holder then return stdio_taken(holder), "backend" end
     end
   end},
   append = "append_socket",
   fields = {name = "virtserialport.name", id = "virtserialport.id", path = "chardev.path",
             backend = "chardev.backend"}},
  -- guest_status = true: the vclaunch.status port (vm:guest_status()); at
  -- pod:start() the value becomes the status file's path (vclaunch.guest)
  {field = "guest_status", schema = BOOL, append = "append_guest_status"},
  {field = "endpoints", schema = list(ENDPOINT), items = true,
   checks = {function(e, _, arch)
     if caps(arch).multiqueue ~= false then return nil end
     if e.queues and e.queues > 1 then return "queues: " .. arch.name .. " has no multiqueue" end
     if e.fds and #e.fds > 1 then
       return "fds: one queue per fd, and " .. arch.name .. " has no multiqueue"
     end
   end, function(e)
     if e.type == "tap" and (e.ifname == nil) == (e.fds == nil) then
       return "a tap needs exactly one of ifname and fds"
     end
   end, function(e)
     if e.type == "vhost-user" and not e.socket then
       return "missing required field 'socket' (vhost-user)"
     end
   end, forward.check},
   -- Every NIC without a mac gets one of its own, stable for the pod's
   -- name and the NIC's index (QEMU would give each 52:54:00:12:34:56).
   -- A user endpoint's forward rules reach the appender as hostfwd
   -- strings (vclaunch.forward).
   prepare = function(e, pod, index)
     if e.mac == nil or e.forward then
       local t = {}
       for k, v in pairs(e) do t[k] = v end
       t.mac = t.mac or M.mac(pod.name, index)
       t.hostfwd = forward.hostfwd(e.forward)
       return t
     end
     return e
   end,
   append = "append_endpoint",
   fields = {id = "id", ifname = "ifname", fds = "fds", mac = "mac", queues = "queues",
             vhost = "vhost", socket = "socket", forward = "hostfwd"}},
  {field = "drives", schema = list(DRIVE), items = true, append = "append_drive",
   checks = {probe_drive},
   fields = {id = "id", file = "file", format = "format", readonly = "readonly",
             serial = "serial", aio = "aio"}},
  {field = "vhost_user", schema = list(VHOST_USER), items = true,
   checks = {function(v)
     if v.type == "fs" and not v.tag then return "missing required field 'tag' (fs)" end
   end},
   append = "append_vhost_user",
   fields = {id = "chardev", socket = "socket", tag = "tag"}},
  {field = "vfio", schema = list(VFIO), items = true,
   checks = {function(v)
     if (v.host == nil) == (v.sysfsdev == nil) then
       return "needs exactly one of host and sysfsdev"
     end
   end},
   append = "append_vfio",
   fields = {id = "id", host = "host", sysfsdev = "sysfsdev"}},
  {field = "vsock", schema = VSOCK, append = "append_vsock",
   fields = {cid = "guest_cid", vhostfd = "vhostfd"}},
  {field = "rng", schema = RNG, capability = "rng",
   checks = {function(r)
     if type(r) == "table" and r.backend == "builtin" and r.filename then
       return "filename goes with backend = \"random\""
     end
   end},
   append = "append_rng",
   fields = {filename = "filename", max_bytes = "max_bytes", period = "period"}},
  {field = "balloon", schema = BALLOON, append = "append_balloon",
   fields = {deflate_on_oom = "deflate_on_oom", free_page_reporting = "free_page_reporting"}},
  -- How vm:resize_memory grows the memory: pc-dimm slots (memory_slots), or
  -- one virtio-mem device made at start, resized with requested-size.
  {field = "memory_hotplug", schema = {type = "string", values = {"pc-dimm", "virtio-mem"}},
   capability = "virtio_mem", present = function(v) return v == "virtio-mem" end,
   checks = {function(v, pod)
     if v == "virtio-mem" and not pod.max_memory then
       return "virtio-mem needs max_memory (the most the device can plug is max_memory - memory)"
     end
   end},
   append = "append_virtio_mem"},
  -- The panic device is there unless pvpanic = false (arch append_pvpanic
  -- adds none where the machine has none); true insists on one.
  {field = "pvpanic", schema = BOOL, append = "append_pvpanic",
   present = function(v) return v ~= false end,
   checks = {function(v, pod, arch)
     if v == true and caps(arch).pvpanic == false then
       return (CAPABILITIES.pvpanic):format(arch.name, pod.machine), "pvpanic"
     end
   end}},
  {field = "bridges", schema = {type = "integer", min = 0, max = 30}, append = "bridges",
   present = function(n) return n ~= nil and n > 0 end},
  -- The pool of pcie-root-ports vm:hotplug places devices on (q35, arm64
  -- virt), made at start: pod.hotplug_ports, or the arch's default.
  {field = "hotplug_ports", schema = {type = "integer", min = 0, max = 30}, present = always,
   append = "hotplug_ports"},
  -- hotplug_vhost_user = true: the guest memory is shared from the start,
  -- as knobs.shared_memory makes it (arch memory_backend), because
  -- vm:hotplug of a vhost-user device (virtio-fs too) needs it and memory
  -- cannot be made shared later.
  {field = "hotplug_vhost_user", schema = BOOL},

  -- Raw devices, as written: the kinds check their fields.
  {field = "devices", schema = {type = "list", items = {type = "any"}}, items = true, raw = true,
   checks = {function(d)
     if not is_device(d) then return "expected {kind, {fields}}" end
     if OWN_KINDS[d[1]] then
       return ("kind '%s' conflicts with what vclaunch sets: %s"):format(d[1], OWN_KINDS[d[1]])
     end
   end, function(d, pod, arch)
     return transport_error(d, pod, arch)
   end, function(d, pod, arch)
     if uses_stdio(d) then
       local holder = stdio_holder(d, pod, arch)
       if holder then
         return ("%s: field 'backend': %s"):format(dev_name(d[1], d[2]), stdio_taken(holder))
       end
     end
   end},
   build = function(_, d) return {d} end},

  -- Raw arguments, appended after everything else (vclaunch's QMP monitor
  -- included) by Pod:argv.
  {field = "extra_args", schema = list(STR), items = true,
   checks = {function(a)
     local flag = a:gsub("^%-%-", "-")
     if OWN_OPTIONS[flag] then
       return ("'%s' conflicts with what vclaunch sets: %s"):format(a, OWN_OPTIONS[flag])
     end
   end}},
}

M.by_field = {}
for _, row in ipairs(M.rows) do
  if row.field then M.by_field[row.field] = row end
end

-- The pod's schema: each row's field.
local pod_fields = {}
for _, row in ipairs(M.rows) do
  if row.field then pod_fields[row.field] = row.schema end
end
M.POD = record(pod_fields)

local function row_of(concept)
  local row = type(concept) == "table" and concept or M.by_field[concept]
  if not row then
    local names = {}
    for name in pairs(M.by_field) do names[#names + 1] = name end
    table.sort(names)
    errors.fail("usage", ("unknown pod concept '%s' (one of: %s)"):format(tostring(concept),
                table.concat(names, ", ")))
  end
  return row
end

-- Where messages about a value of row point ("pod.drives[2]", "pod.kernel",
-- "pod"), and where its devices come from ("pod.drives[2]", "pod.image").
local function where_of(row, index)
  if row.items then
    local w = ("pod.%s[%d]"):format(row.field, index)
    return w, w
  end
  if not row.field then return nil, row.origin end
  local types = type(row.schema.type) == "table" and row.schema.type or {row.schema.type}
  for _, t in ipairs(types) do
    if t == "record" then return "pod." .. row.field, "pod." .. row.field end
  end
  return "pod", "pod." .. row.field
end

local function present(row, v)
  if row.present then return row.present(v) end
  return v ~= nil and v ~= false
end

-- ---- checking -------------------------------------------------------------

-- Checks one value of row (an item, for items rows) against its schema, the
-- arch's capabilities and the row's checks; raises a message.
local function check_one(row, v, pod, arch, index, schema_too)
  local where = where_of(row, index)
  if schema_too then
    if row.items then
      local spec = row.schema.items
      if spec.type == "record" and type(v) ~= "table" then
        error(("%s must be a table, got %s"):format(where, schema.got(v)), 0)
      elseif spec.type == "record" then
        schema.check_record(v, spec, where)
      else
        schema.check_value(v, spec, where, nil)
      end
    elseif v ~= nil then
      schema.check_value(v, row.schema, "pod", row.field)
    end
  end
  if row.capability and present(row, v) and caps(arch)[row.capability] == false then
    error(("pod: %s: " .. CAPABILITIES[row.capability]):format(row.field, arch.name,
          pod.machine), 0)
  end
  for _, check in ipairs(row.checks or {}) do
    local msg, field = check(v, pod, arch, index)
    if msg then
      error(field and ("%s.%s: %s"):format(where, field, msg) or ("%s: %s"):format(where, msg), 0)
    end
  end
end

-- Checks every value of the pod (view: machine and name filled in) that
-- the schema let through, row by row. Raises a message.
function M.check_pod(pod, arch)
  for _, row in ipairs(M.rows) do
    if row.items then
      for i, item in ipairs(pod[row.field] or {}) do check_one(row, item, pod, arch, i) end
    elseif row.field and (row.checks or row.capability) then
      local v = pod[row.field]
      if v ~= nil or row.present == always then check_one(row, v, pod, arch) end
    end
  end
end

local function rethrow(e) errors.rethrow(e, "recipe") end

--- Checks one item of concept (a pod field: "drives", "vsock", ...) as
--- vclaunch.pod checks the pod's own: its schema, the arch's capability,
--- the row's rules, with the pod (a Pod) around it. index: its place in the
--- list (default: after the pod's own items). Raises a recipe error.
function M.check_item(concept, item, pod, index)
  local row = row_of(concept)
  index = index or (row.items and #(pod.spec[row.field] or {}) + 1) or nil
  local ok, e = pcall(check_one, row, item, pod.spec, pod.arch, index, true)
  if not ok then rethrow(e) end
end

-- ---- building -------------------------------------------------------------

--- The state one build shares between rows: the policy, its ctx (ids,
--- chassis and devno counters, the shared controllers), the pod view and
--- the accelerator, whether virtio devices must be legacy-only, and the
--- host facts (vclaunch.host) for the policy calls that take them.
function M.builder(arch, pod, accel, ctx, nested, host)
  return {arch = arch, pod = pod, accel = accel, ctx = ctx or call(arch, "new_ctx", pod),
          nested = nested, host = host}
end

-- Where a device comes from, for messages: origin ("pod.drives[2]"), where
-- (the prefix of the fields it maps), the row, the machine.
local function from(row, index, pod, origin)
  local where, default_origin = where_of(row, index)
  return {origin = origin or default_origin, where = where, row = row, machine = pod.machine}
end

-- The devices of one value of row, with where each comes from.
local function build_value(row, v, b, index)
  local item = row.prepare and row.prepare(v, b.pod, index) or v
  local devs, origins
  if row.append then
    devs = call(b.arch, row.append, b.ctx, item) or {}
  else
    devs, origins = row.build(b, item)
    devs = devs or {}
  end
  local froms = {}
  for i, dev in ipairs(devs) do
    froms[i] = from(row, index, b.pod, origins and origins[i])
    if row.append and is_device(dev) then
      local msg = transport_error(dev, b.pod, b.arch)
      if msg then error(core.error("recipe", froms[i].origin .. ": " .. msg), 0) end
      -- Nesting: legacy virtio for what the policy makes (raw devices are
      -- left as written).
      local f = dev[2]
      if b.nested and kind_info(dev[1]).legacy and f.disable_modern == nil and
         (f.transport or "pci") == "pci" then
        f.disable_modern = true
      end
    end
  end
  return devs, froms
end

-- Appends the devices of row for the pod behind b to devs and froms.
local function build_row(row, b, devs, froms)
  if not (row.append or row.build) then return end
  local v = row.field and b.pod[row.field]
  local function add(d, f)
    for i = 1, #d do
      devs[#devs + 1], froms[#devs + 1] = d[i], f[i]
    end
  end
  if row.items then
    for i, item in ipairs(v or {}) do add(build_value(row, item, b, i)) end
  elseif present(row, v) then
    add(build_value(row, v, b))
  end
end

--- Every device of the pod behind b, in command-line order, and where each
--- comes from (lists of the same length).
function M.build_pod(b)
  local parts = {}
  for i, row in ipairs(M.rows) do
    if row.append then
      parts[i] = {{}, {}}
      build_row(row, b, parts[i][1], parts[i][2])
    end
  end
  for i, row in ipairs(M.rows) do
    if not row.append then
      parts[i] = {{}, {}}
      build_row(row, b, parts[i][1], parts[i][2])
    end
  end
  local devs, froms = {}, {}
  for i = 1, #M.rows do
    local d, f = parts[i][1], parts[i][2]
    for j = 1, #d do devs[#devs + 1], froms[#devs + 1] = d[j], f[j] end
  end
  return devs, froms
end

--- The devices of one item of concept for a pod (a Pod), placed with ctx
--- (the VM's: ids, chassis and devno counters continue from it), and where
--- each comes from (for emit). Check it with check_item first. index: as
--- for check_item.
function M.build_item(concept, item, pod, ctx, index)
  local row = row_of(concept)
  index = index or (row.items and #(pod.spec[row.field] or {}) + 1) or nil
  local b = M.builder(pod.arch, pod.spec, pod:accel(), ctx, pod:nested(), pod:host())
  local ok, devs, froms = pcall(build_value, row, item, b, index)
  if not ok then rethrow(devs) end
  return devs, froms
end

-- ---- emitting -------------------------------------------------------------

-- Ids vclaunch gives its own devices when it starts a pod.
M.RESERVED_IDS = {qmp = "chardev (vclaunch's QMP monitor)"}

-- The item field a kind field comes from, per row (kind.field first).
local function item_field(row, kind, field)
  if not row.inverse then
    local inv = {}
    for item, kfs in pairs(row.fields or {}) do
      for _, kf in ipairs(type(kfs) == "table" and kfs or {kfs}) do inv[kf] = item end
    end
    row.inverse = inv
  end
  return row.inverse[kind .. "." .. field] or row.inverse[field]
end

--- A device error from core.emit, reworded to name the pod field the
--- recipe wrote: "pod.volumes[1].tag: ..." for a field the row maps;
--- "pod.vhost_user[1]: ... (machine microvm)" for the transport the machine
--- chose; else the kind's message after where the device comes from. Raw
--- devices keep the kind's message (their fields are the recipe's words).
function M.translate(e, f)
  if type(e) ~= "table" or not e.message or not f or not f.row or f.row.raw then return e end
  local device, field, rest = e.device, e.field, nil
  if field then rest = e.message:match("field '" .. field:gsub("%p", "%%%0") .. "': (.*)$") end
  local msg
  local mapped = field and device and item_field(f.row, device, field)
  if mapped and rest then
    msg = ("%s.%s: %s"):format(f.where, mapped, rest)
  elseif field == "transport" and rest then
    msg = ("%s: %s (machine %s)"):format(f.origin, rest, f.machine)
  else
    msg = ("%s: %s"):format(f.origin, e.message)
  end
  local out = core.error(e.kind or "recipe", msg)
  for k, v in pairs(e) do
    if k ~= "kind" and k ~= "message" and k ~= "where" then out[k] = v end
  end
  return out
end

--- The QEMU arguments of dev ({kind, fields}) coming from f (from
--- build_pod/build_item; nil: vclaunch's own), and the ids it defines.
--- seen (id -> "kind (origin)") holds the ids used so far: an id seen
--- before is refused, the new ones are added. Raises a recipe error.
function M.emit(dev, f, seen, index)
  local origin = f and f.origin or "vclaunch"
  if not is_device(dev) then
    error(core.error("recipe", ("devices[%d]: expected {kind, {fields}}"):format(index or 1)), 0)
  end
  local ok, args, ids = pcall(core.emit, dev[1], dev[2])
  if not ok then error(M.translate(args, f), 0) end
  for _, id in ipairs(ids) do
    local where = ("%s (%s)"):format(dev[1], origin)
    if seen[id] == M.RESERVED_IDS[id] and origin == "vclaunch" then
      seen[id] = nil -- vclaunch's own device, where the id was kept for it
    end
    if seen[id] then
      error(core.error("recipe", ("pod: duplicate id '%s': %s and %s"):format(id, seen[id],
            where)), 0)
    end
    seen[id] = where
  end
  return args, ids
end

return M
