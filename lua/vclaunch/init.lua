-- vclaunch: launch and drive QEMU virtual machines described in Lua.
--
--   local vc = require "vclaunch"
--   local vm = vc.pod{name = "demo", kernel = {path = "bzImage"}}:start()
--   vm.console:expect("login:", 30)
--   vm:shutdown{timeout = 10}
--
-- The pod fields, the device kinds and arch overrides (vc.arch(name) and
-- policy:extend{...}) are described in docs/pods.md.
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
local function own_source(src)
  return src:match("^@lua/vclaunch/") or src:match("^@arch/") or src:match("/lua/vclaunch/")
         or src:match("/arch/%w+%.lua$")
end

-- Raises an error object pointing at the recipe: the first Lua frame that
-- is not vclaunch's own code. msg may carry a position inside vclaunch (a
-- core error raised in this module): it is replaced. from: an error object
-- whose other fields (class, command) the new one keeps.
local function fail(kind, msg, from)
  local where = ""
  for level = 3, 50 do
    local info = debug.getinfo(level, "Sl")
    if not info then break end
    if info.what ~= "C" and not own_source(info.source) and info.currentline > 0 then
      where = info.short_src .. ":" .. info.currentline .. ": "
      break
    end
  end
  local file, rest = msg:match("^([^%s:]+%.lua):%d+: (.*)$")
  if file and own_source("@" .. file) then msg = rest end
  local e = core.error(kind, where .. msg)
  if type(from) == "table" then
    for k, v in pairs(from) do
      if k ~= "kind" and k ~= "message" then e[k] = v end
    end
  end
  error(e, 0)
end

-- One line on stderr when options.log_level is level or chattier
-- ("error" < "info" < "debug").
local LEVELS = {error = 1, info = 2, debug = 3}
local function log(level, fmt, ...)
  if LEVELS[M.options.log_level or "error"] >= LEVELS[level] then
    io.stderr:write("vclaunch: ", fmt:format(...), "\n")
  end
end

-- VMs still running; the CLI kills what a finished recipe left behind.
M._live = {}

-- " (did you mean 'x'?)" by the core's rule (the one device fields use), or "".
local function suggest(name, names)
  local best = core.suggest(name, names)
  return best and (" (did you mean '" .. best .. "'?)") or ""
end

-- ---- pods -------------------------------------------------------------

-- The pod schema. A field spec: type ("string", "path": a string without
-- control characters, "integer", "boolean", "record": a table of named
-- fields, "list": an array of items, "arch": a name or a policy), or a list
-- of types for a field that takes either; required; values (enum); min and
-- max (integers); fields (record); items (list).
local function record(fields, extra)
  local s = {type = "record", fields = fields}
  for k, v in pairs(extra or {}) do s[k] = v end
  return s
end
local function list(items) return {type = "list", items = items} end
local STR, PATH, INT, BOOL = {type = "string"}, {type = "path"}, {type = "integer"},
                             {type = "boolean"}
local ID = {type = "string"} -- checked by the kind that carries it

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

local PHRASES = {string = "a string", path = "a path (string)", integer = "an integer",
                 boolean = "a boolean", record = "a table", list = "a list",
                 arch = "an arch name or a policy from vclaunch.arch()", any = "a value"}

local function is_policy(v)
  return type(v) == "table" and type(v.binary) == "string" and type(v.machines) == "table" and
         type(v.new_ctx) == "function"
end

local function matches_type(v, t)
  if t == "string" or t == "path" then return type(v) == "string"
  elseif t == "integer" then return math.type(v) == "integer"
  elseif t == "boolean" then return type(v) == "boolean"
  elseif t == "record" or t == "list" then return type(v) == "table" and not is_policy(v)
  elseif t == "arch" then return type(v) == "string" or is_policy(v)
  end
  return true
end

local function got(v)
  if type(v) == "number" then return tostring(v) end
  return "a " .. type(v)
end

local check_value

-- Checks the table t against a record spec; where names it ("pod.kernel").
local function check_record(t, spec, where)
  local names, keys = {}, {}
  for k in pairs(spec.fields) do names[#names + 1] = k end
  table.sort(names)
  for k in pairs(t) do keys[#keys + 1] = tostring(k) end
  table.sort(keys)
  for _, k in ipairs(keys) do
    if not spec.fields[k] then
      error(where .. ": unknown field '" .. k .. "'" .. suggest(k, names), 0)
    end
  end
  for _, k in ipairs(names) do
    local f = spec.fields[k]
    if t[k] == nil then
      if f.required then error(where .. ": missing required field '" .. k .. "'", 0) end
    else
      check_value(t[k], f, where, k)
    end
  end
end

-- Checks one value v against spec f: field name of where ("pod", "vcpus"),
-- or, with name nil, the list item where ("pod.firmware[2]").
function check_value(v, f, where, name)
  local label = name and (where .. ": field '" .. name .. "'") or where
  local path = name and (where == "pod" and ("pod." .. name) or (where .. "." .. name)) or where
  local types = type(f.type) == "table" and f.type or {f.type}
  local t
  for _, ty in ipairs(types) do
    if matches_type(v, ty) then t = ty break end
  end
  if not t then
    if types[1] == "integer" and type(v) == "number" then
      error(("%s must be an integer, got %s"):format(label, v), 0)
    end
    local phrases = {}
    for i, ty in ipairs(types) do phrases[i] = PHRASES[ty] end
    local what = types[1] == "integer" and "a number" or table.concat(phrases, " or ")
    error(("%s must be %s, got %s"):format(label, what, got(v)), 0)
  end
  if t == "path" then
    local c = v:match("%c")
    if c then error(("%s: holds a control character (0x%02x)"):format(label, c:byte()), 0) end
  end
  if f.values then
    local ok = false
    for _, e in ipairs(f.values) do ok = ok or e == v end
    if not ok then
      error(("%s: %q is not one of: %s"):format(label, v, table.concat(f.values, ", ")), 0)
    end
  end
  if t == "integer" then
    if f.max and (v < (f.min or v) or v > f.max) then
      error(("%s: %d is out of range (%d to %d)"):format(label, v, f.min or 0, f.max), 0)
    elseif f.min and v < f.min then
      error(("%s: %d is below %d"):format(label, v, f.min), 0)
    end
  end
  if t == "record" and f.fields then
    check_record(v, f, path)
  elseif t == "list" then
    local n, bad = #v, nil
    for k in pairs(v) do
      if math.type(k) ~= "integer" or k < 1 or k > n then
        if bad == nil or tostring(k) < tostring(bad) then bad = k end
      end
    end
    if bad ~= nil then
      error(("%s must be a list (keys 1..n), has key %s"):format(label, tostring(bad)), 0)
    end
    for i, item in ipairs(v) do
      local at = ("%s[%d]"):format(path, i)
      if f.items.type == "record" then
        if type(item) ~= "table" then
          error(("%s must be a table, got %s"):format(at, got(item)), 0)
        end
        check_record(item, f.items, at)
      else
        check_value(item, f.items, at, nil)
      end
    end
  end
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
  if not okid then error((tostring(err):gsub("^[^:]+:%d+: ", "")), 0) end
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
  if not ok then
    local e = arch
    if type(e) == "table" then fail(e.kind or "recipe", e.message or tostring(e)) end
    fail("recipe", tostring(e))
  end
  local pod = setmetatable({spec = view, arch = arch, name = view.name,
                            machine = view.machine}, Pod)
  -- Build once now so that every device error points at the pod() call.
  local okargv, e = pcall(pod.argv, pod)
  if not okargv then
    if type(e) == "table" then
      fail(e.kind or "recipe", (tostring(e.message or e):gsub("^[^:]+:%d+: ", "")))
    end
    fail("recipe", (tostring(e):gsub("^[^:]+:%d+: ", "")))
  end
  return pod
end

-- Facts about the host for the policies (which do no I/O), each read once
-- and only when first asked for: arch (in arch/ names, or false), kvm
-- (whether /dev/kvm opens) and cpu_flags (the "flags" line of /proc/cpuinfo as a set; only the nesting
-- check under KVM asks, and /proc/cpuinfo is large on big hosts).
local HOST_ARCHES = {x86_64 = "amd64", aarch64 = "arm64", ppc64le = "ppc64le", s390x = "s390x"}
local function read_file(path)
  local f = io.open(path)
  if not f then return "" end
  local text = f:read("a")
  f:close()
  return text
end
local HOST_FACTS = {
  arch = function()
    return HOST_ARCHES[read_file("/proc/sys/kernel/arch"):match("%S+") or ""] or false
  end,
  kvm = function() -- /dev/kvm can be opened
    local f = io.open("/dev/kvm", "r+")
    if f then f:close() end
    return f ~= nil
  end,
  cpu_flags = function()
    local flags = {}
    for flag in (read_file("/proc/cpuinfo"):match("\nflags%s*:([^\n]*)") or ""):gmatch("%S+") do
      flags[flag] = true
    end
    return flags
  end,
}
local host_facts = setmetatable({}, {__index = function(t, k)
  local fact = HOST_FACTS[k]
  if not fact then return nil end
  local v = fact()
  rawset(t, k, v)
  return v
end})
local function host()
  return host_facts
end
M.host = host

--- The accelerator: the pod's, else --accel's, else kvm when /dev/kvm opens
--- and the pod's arch is the host's, else tcg.
function Pod:accel()
  return self.spec.accel or M.options.accel or
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
function Pod:start(opts)
  return M.start(self, opts)
end

-- ---- the console --------------------------------------------------------

local Console = {}
Console.__index = Console

-- The log file is opened at the first line: a guest that prints nothing
-- costs no file.
local function new_console(log_path)
  -- lines[first..last] hold the ring; # is not used on it, since the
  -- dropped head leaves the table with holes
  return setmetatable({lines = {}, first = 1, last = 0, pos = 1, cond = core.cond(),
                       log_path = log_path}, Console)
end

function Console:_push(line)
  self.last = self.last + 1
  self.lines[self.last] = line
  -- a ring of the last 1000 lines
  if self.last - self.first >= 1000 then
    self.lines[self.first] = nil
    self.first = self.first + 1
    if self.pos < self.first then self.pos = self.first end
  end
  if not self.log and self.log_path then
    self.log = io.open(self.log_path, "a")
    self.log_path = nil
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
    for i = self.pos, self.last do
      if self.lines[i]:find(pattern) then
        self.pos = i + 1
        return self.lines[i]
      end
    end
    self.pos = self.last + 1
    local left = deadline - core.now()
    if self.closed or left <= 0 or not self.cond:wait(left) and core.now() >= deadline then
      local last = {}
      for i = math.max(self.first, self.last - 9), self.last do last[#last + 1] = self.lines[i] end
      fail(self.closed and "process" or "timeout",
           ("console: no line matching %q %s; last lines:\n%s"):format(pattern,
             self.closed and "before the VM exited" or ("within " .. timeout .. "s"),
             table.concat(last, "\n")))
    end
  end
end

--- The lines kept (the last 1000), oldest first.
function Console:history()
  return table.move(self.lines, self.first, self.last, 1, {})
end

-- ---- VMs ----------------------------------------------------------------

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
  local base = M.options.runtime_dir or ""
  if not swept[base] then
    swept[base] = true
    local ok, n = pcall(core.rundir_sweep, M.options.runtime_dir)
    if ok and n > 0 then log("info", "removed %d stale runtime dir(s)", n) end
  end
  local dir
  local ok, vm = pcall(function()
    dir = core.rundir(pod.name, M.options.runtime_dir)
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
                             console = new_console(dir .. "/console.log")}, VM)
    vm.proc = core.process{argv = argv, fds = {listener:fileno()},
      on_line = function(stream, line)
        if stream == "stdout" then vm.console:_push(line)
        else io.stderr:write(pod.name, ": ", line, "\n") end
      end}
    listener:close()
    log("info", "%s: QEMU started, pid %d, runtime dir %s", pod.name, vm.proc:pid(), dir)
    if M.options.log_level == "debug" then
      log("debug", "%s: %s", pod.name, core.render(argv, "shell"))
    end
    -- The watcher: reaps QEMU, then releases everything the VM holds.
    M._live[vm] = true
    core.spawn(function()
      vm.exit = vm.proc:wait()
      log("info", "%s: QEMU exited (%s)", pod.name,
          vm.exit.code and ("status " .. vm.exit.code) or ("signal " .. vm.exit.signal))
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

return M
