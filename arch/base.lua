-- Policy shared by every architecture: data and small functions, no I/O.
-- An arch file sets this table as its __index and overrides what differs.
-- Every function is a method (self first) so that overrides reach each
-- other; vc.arch(name):extend{...} layers a recipe's overrides on top.
--
-- `pod` below is the validated pod table (machine filled in); `ctx` is the
-- per-build state from new_ctx. Appenders return lists of {kind, fields}.
-- A policy refuses a pod with self:fail(msg): vclaunch turns it into a
-- recipe error at the recipe's line. Any other error raised in a method is
-- reported as that method (or a recipe's override of it) failing.
local M = {}

M.name = "base"
M.binary = nil
-- [type] = {transport = "pci"|"ccw"|"mmio": the policy's devices use it,
-- transports = every transport the machine has (default {transport}: a
-- raw device on another one is refused), bridge = kind of the hotplug
-- bridges (nil: none), root_bus = the bus bridges plug into}
M.machines = {}
M.default_machine = nil
M.max_vcpus = 240
M.default_memory = 512 -- MiB
-- The pcie-root-ports made for hot-plug on machines that have them (q35,
-- virt) when the pod says neither hotplug_ports nor bridges.
M.default_hotplug_ports = 2
M.memory_align = 1 -- MiB: max_memory is rounded up to it
M.console_param = "console=ttyS0"
-- What the arch can do; a false one makes vclaunch refuse the pod fields
-- that need it (block_hotplug is kept for device hotplug, not built yet).
-- pvpanic: the ISA pvpanic device (needs an ISA bus); rng: virtio-rng.
M.capabilities = {block_hotplug = true, multiqueue = true, fs_sharing = true,
                  memory_hotplug = true, pvpanic = true, rng = true,
                  -- the concepts vm:hotplug takes (a missing table: all of them)
                  hotplug = {drives = true, endpoints = true, volumes = true, sockets = true,
                             vhost_user = true, vfio = true, devices = true}}

-- Kernel parameters: the quiet and debug sets, then the pod's own.
-- panic=-1: a panicking kernel reboots at once (it would wait for ever
-- with no panic=), and a reboot ends QEMU (action below) where no panic
-- device tells QEMU of the panic itself.
M.kernel_params = {
  quiet = {"quiet", "panic=-1"},
  debug = {"debug", "panic=-1"},
}

-- A refusal: an error object as vclaunch's are ({kind, message}), so that
-- it is told apart from a Lua error in a method.
local Refusal = {__tostring = function(e) return e.message end}

--- Refuses the pod: a recipe error with msg.
function M:fail(msg)
  error(setmetatable({kind = "recipe", message = msg}, Refusal), 0)
end

--- A new policy with the given fields and methods on top of this one.
function M:extend(overrides)
  if type(overrides) ~= "table" then
    error("extend: expected a table of overrides, got a " .. type(overrides), 2)
  end
  local t = {}
  for k, v in pairs(overrides) do t[k] = v end
  return setmetatable(t, {__index = self})
end

--- The machine type's entry in machines, or nil.
function M:machine_info(pod)
  return self.machines[pod.machine]
end

function M:transport(pod)
  return (self.machines[pod.machine] or {}).transport or "pci"
end

--- Per-build state handed to the appenders.
function M:new_ctx(pod)
  local ctx = {transport = self:transport(pod), machine = pod.machine, pod = pod,
               arch = self, counters = {}, n_devno = 0, n_chassis = 0}
  function ctx.devno(c)
    c.n_devno = c.n_devno + 1
    return ("fe.0.%04x"):format(c.n_devno)
  end
  function ctx.chassis(c)
    c.n_chassis = c.n_chassis + 1
    return c.n_chassis
  end
  -- A recipe's open fd that QEMU needs (a tap queue, a vhost fd): QEMU
  -- gets it at start as 4, 5, ... in this order (3 is vclaunch's QMP
  -- socket); a hot-plug passes it with getfd and names it instead.
  ctx.passed_fds = {}
  function ctx.fd(c, n)
    c.passed_fds[#c.passed_fds + 1] = n
    return 3 + #c.passed_fds
  end
  function ctx.id(c, prefix)
    local n = c.counters[prefix] or 0
    c.counters[prefix] = n + 1
    return prefix .. n
  end
  return ctx
end

-- ---- the machine ------------------------------------------------------

--- Fields of the "machine" kind.
function M:machine(pod, accel)
  return {type = pod.machine, accel = accel}
end

--- The CPU model: the host's under KVM; under TCG, everything TCG can do.
function M:cpu(pod, accel)
  return pod.cpu or (accel == "kvm" and "host" or "max")
end

--- The CPU features after the model, called as cpu(pod, accel) is: the
--- pod's cpu_features, a table {name = boolean|integer} or a
--- "name=on,+name" string, or nil for none.
function M:cpu_features(pod)
  return pod.cpu_features
end

--- Fields of the "smp" kind.
function M:smp(pod)
  local vcpus = pod.vcpus or 1
  local max = pod.max_vcpus or vcpus
  return {cpus = vcpus, sockets = max, cores = 1, threads = 1, maxcpus = max}
end

--- Boot memory in MiB.
function M:memory_size(pod)
  return pod.memory or self.default_memory
end

--- Fields of the "memory" kind.
function M:memory(pod)
  local t = {size = self:memory_size(pod) .. "M"}
  if pod.max_memory then
    local align = self.memory_align or 1
    local max = math.ceil(pod.max_memory / align) * align
    t.maxmem = max .. "M"
    t.slots = pod.memory_slots or 1
  end
  return t
end

--- The memory backend the knobs select, as {kind, fields}, or nil. Shared
--- memory is also needed by vhost-user devices (virtio-fs included), and
--- by their hot-plug (pod.hotplug_vhost_user).
function M:memory_backend(ctx, pod)
  local k = pod.knobs or {}
  local shared = k.shared_memory or pod.hotplug_vhost_user or ctx.needs_shared_memory
  if not (k.hugepages or k.prealloc or shared) then return nil end
  local size = self:memory_size(pod) .. "M"
  local f = {id = "mem0", size = size, prealloc = k.prealloc or nil}
  if k.hugepages then
    f.mem_path = "/dev/hugepages"
    f.share = shared or nil
    return {"memory-backend-file", f}
  elseif shared then
    f.share = true
    return {"memory-backend-memfd", f}
  end
  return {"memory-backend-ram", f}
end

--- Standalone flags. -display none, not -nographic: with -nographic
--- SeaBIOS copies its screen to the serial console, with terminal resets,
--- clear-screen and wrap-off (ESC[?7l) that reach the user's terminal.
function M:flags(pod)
  local k = pod.knobs or {}
  return {nodefaults = true, no_user_config = true, display = "none",
          no_reboot = (pod.no_reboot or k.no_reboot) or nil, freeze = pod.freeze or nil}
end

--- What QEMU does when the guest panics or reboots (fields of the "action"
--- kind): a panic ends QEMU with status 1 (exit-failure), which vclaunch
--- reports as "the guest panicked"; a reboot ends QEMU as a power-off
--- does, unless the pod asks for reboots (pod.reboot = true).
function M:action(pod)
  return {panic = "exit-failure", reboot = not pod.reboot and "shutdown" or nil}
end

--- The console: a chardev on QEMU's stdio and the legacy serial port.
function M:console(_, id)
  return {
    {"chardev", {backend = "stdio", id = id}},
    {"serial", {chardev = id}},
  }
end

--- The kernel command line: console parameter, quiet/debug set, the
--- clock parameters, the pod's (last, so that they can override).
function M:cmdline(pod, accel, host)
  local k = pod.kernel or {}
  local parts = {self.console_param}
  for _, p in ipairs(k.debug and self.kernel_params.debug or self.kernel_params.quiet) do
    parts[#parts + 1] = p
  end
  for _, p in ipairs(self:clock_params(pod, accel, host)) do parts[#parts + 1] = p end
  if k.params then parts[#parts + 1] = k.params end
  return table.concat(parts, " ")
end

--- Kernel parameters the guest needs to keep time on this machine under
--- this accelerator, given the host facts (host.tsc_khz: the host's TSC
--- rate in kHz, or false). None by default.
function M:clock_params(_, _, _)
  return {}
end

--- Firmware: a path (bios) or a list of pflash images (code first).
function M:firmware(_, firmware)
  if type(firmware) == "string" then return {{"bios", {path = firmware}}} end
  local d = {}
  for i, path in ipairs(firmware) do
    d[#d + 1] = {"pflash", {file = path, unit = i - 1, readonly = i == 1 or nil}}
  end
  return d
end

-- ---- bridges ----------------------------------------------------------

--- Devices for n hotplug bridges (machines[type].bridge says which kind).
function M:bridges(ctx, n)
  if n == 0 then return {} end
  local info = self:machine_info(ctx.pod) or {}
  local d = {}
  -- the buses hot-plugged devices go to (hotplug_place)
  ctx.hotplug_buses = ctx.hotplug_buses or {}
  if info.bridge == "pcie-root-port" then
    for _ = 1, n do
      local chassis = ctx:chassis()
      local id = ctx:id("rp")
      d[#d + 1] = {"pcie-root-port", {id = id, bus = info.root_bus, chassis = chassis,
                                      slot = chassis}}
      table.insert(ctx.hotplug_buses, id)
    end
  elseif info.bridge == "pci-bridge" then
    for _ = 1, n do
      local id = ctx:id("pci-bridge")
      d[#d + 1] = {"pci-bridge", {id = id, bus = info.root_bus,
                                  chassis_nr = ctx:chassis(), shpc = true}}
      table.insert(ctx.hotplug_buses, id)
    end
  else
    self:fail(("pod: bridges: machine %s has no hotplug bridges"):format(ctx.machine))
  end
  return d
end

--- The pool of pcie-root-ports for hot-plug (pod.hotplug_ports = n; nil:
--- default_hotplug_ports, or none when the pod gives bridges, which are
--- root ports on these machines too). A machine without PCIe root ports
--- takes none: pc and pseries hot-plug into pci-bridge slots (bridges).
function M:hotplug_ports(ctx, n)
  local info = self:machine_info(ctx.pod) or {}
  if info.bridge ~= "pcie-root-port" then
    if n and n > 0 then
      self:fail(("pod: hotplug_ports: machine %s has no PCIe root ports%s"):format(ctx.machine,
                info.bridge and ("; it hot-plugs into %s slots (pod.bridges = N)"):format(
                info.bridge) or ""))
    end
    return {}
  end
  if n == nil then n = ctx.pod.bridges and 0 or self.default_hotplug_ports end
  ctx.hotplug_buses = ctx.hotplug_buses or {}
  local d = {}
  for _ = 1, n do
    local chassis = ctx:chassis()
    local id = ctx:id("rp")
    d[#d + 1] = {"pcie-root-port", {id = id, bus = info.root_bus, chassis = chassis,
                                    slot = chassis}}
    table.insert(ctx.hotplug_buses, id)
  end
  return d
end

-- ---- appenders --------------------------------------------------------
-- Disks, NICs and vhost-user devices get a device id of their own, <id>-dev
-- (the backend's id with -dev), so that device_del can name them. An id
-- QEMU would refuse gets none: the kind then reports the id as written.
local function dev_id(id)
  return id:match("^%a[%w%-%._]*$") and (id .. "-dev") or nil
end

--- Adds the transport (and on ccw the next devno) to a virtio device.
-- Nesting checks (virtcontainers' nestedRun): under KVM inside a VM,
-- the cold-plugged virtio PCI devices the policy makes are legacy-only
-- (disable-modern=on). running_on_vmm(host) says whether we run in a VM,
-- from the host facts vclaunch gathers ({arch = "amd64", cpu_flags =
-- {name = true, ...}}): false here, amd64 looks for the hypervisor flag.
-- A policy turns the checks off with nesting_checks = false.
M.nesting_checks = true

function M:running_on_vmm(host)
  return false
end

function M:nested(accel, host)
  return self.nesting_checks and accel == "kvm" and self:running_on_vmm(host)
end

function M:virtio(ctx, fields)
  fields.transport = ctx.transport
  if ctx.transport == "ccw" then fields.devno = ctx:devno() end
  return fields
end

--- The rootfs image: a read-only virtio-blk.
function M:append_image(ctx, path)
  local id = ctx:id("image")
  return {{"virtio-blk", self:virtio(ctx, {id = id, file = path, format = "raw", readonly = true,
                                           device_id = dev_id(id)})}}
end

--- A shared directory: 9p (virtio-9p) or virtio-fs (vhost-user-fs on the
--- virtiofsd socket).
function M:append_volume(ctx, v)
  if (v.type or "9p") == "9p" then
    return {{"virtio-9p", self:virtio(ctx, {id = v.id or ctx:id("fs"), path = v.host_path,
                                            mount_tag = v.tag, security_model = "none",
                                            multidevs = "remap", readonly = v.readonly})}}
  end
  ctx.needs_shared_memory = true
  return self:append_vhost_user(ctx, {id = v.id, type = "fs", socket = v.socket, tag = v.tag})
end

--- The virtio-serial controller the sockets share (added once).
function M:serial_controller(ctx)
  if ctx.serial_bus then return {} end
  ctx.serial_bus = ctx:id("vserial")
  return {{"virtio-serial", self:virtio(ctx, {id = ctx.serial_bus})}}
end

--- A virtio-serial port: a socket QEMU listens on (path), or another
--- chardev backend (backend, path).
function M:append_socket(ctx, s)
  local d = self:serial_controller(ctx)
  local chardev = ctx:id("channel")
  local backend = s.backend or "socket"
  local cf = {backend = backend, id = chardev, path = s.path}
  if backend == "socket" then cf.server, cf.wait = true, false end
  d[#d + 1] = {"chardev", cf}
  d[#d + 1] = {"virtserialport", {chardev = chardev, id = s.id or ctx:id("port"), name = s.name,
                                  bus = ctx.serial_bus .. ".0"}}
  return d
end

--- A network endpoint: tap (by name or by open fds), user (slirp) or
--- vhost-user. More than one queue turns multiqueue on.
function M:append_endpoint(ctx, e)
  local id = e.id or ctx:id("net")
  if e.type == "tap" then
    local f = {id = id, ifname = e.ifname, mac = e.mac, vhost = e.vhost, device_id = dev_id(id)}
    local queues = e.queues or 1
    if e.fds then
      local t = {}
      for i, fd in ipairs(e.fds) do t[i] = tostring(ctx:fd(fd)) end
      f.fds = table.concat(t, ":")
      queues = #e.fds
    else
      f.script, f.downscript = "no", "no"
      f.queues = e.queues
    end
    self:virtio(ctx, f)
    if queues > 1 then
      f.mq = true
      if ctx.transport == "pci" then f.vectors = 2 * queues + 2 end
    end
    return {{"virtio-net-tap", f}}
  elseif e.type == "user" then
    return {{"virtio-net-user", self:virtio(ctx, {id = id, mac = e.mac, device_id = dev_id(id),
                                                  hostfwd = e.hostfwd})}}
  end
  ctx.needs_shared_memory = true
  return {{"vhost-user-net", self:virtio(ctx, {id = id, chardev = "chr-" .. id,
                                               socket = e.socket, mac = e.mac,
                                               device_id = dev_id(id)})}}
end

--- The SCSI controller scsi drives attach to (added once).
function M:append_scsi_controller(ctx)
  if ctx.scsi_bus then return {} end
  ctx.scsi_bus = ctx:id("scsi")
  return {{"virtio-scsi", self:virtio(ctx, {id = ctx.scsi_bus})}}
end

--- A disk: virtio-blk, or scsi-hd on the virtio-scsi controller.
function M:append_drive(ctx, dr)
  local id = dr.id or ctx:id("drive")
  if (dr.interface or "virtio") == "virtio" then
    return {{"virtio-blk", self:virtio(ctx, {id = id, file = dr.file, format = dr.format or "raw",
                                             readonly = dr.readonly, serial = dr.serial,
                                             aio = dr.aio, device_id = dev_id(id)})}}
  end
  local d = self:append_scsi_controller(ctx)
  d[#d + 1] = {"scsi-hd", {id = id, file = dr.file, format = dr.format or "raw",
                           readonly = dr.readonly, serial = dr.serial, aio = dr.aio,
                           bus = ctx.scsi_bus .. ".0", device_id = dev_id(id)}}
  return d
end

local VHOST_USER_KINDS = {blk = "vhost-user-blk", scsi = "vhost-user-scsi", fs = "vhost-user-fs"}

--- A vhost-user device backed by a daemon on a socket.
function M:append_vhost_user(ctx, v)
  ctx.needs_shared_memory = true
  local id = v.id or ctx:id("vhost-user-" .. v.type)
  local f = self:virtio(ctx, {chardev = id, socket = v.socket, device_id = dev_id(id)})
  if v.type == "fs" then f.tag = v.tag end
  return {{VHOST_USER_KINDS[v.type], f}}
end

--- A host device passed through with VFIO: vfio-pci by host address; a
--- mediated device by sysfsdev on ccw (vfio-ccw).
function M:append_vfio(ctx, v)
  local id = v.id or ctx:id("vfio")
  if ctx.transport == "ccw" then
    if v.host then self:fail("pod: vfio: " .. self.name .. " passes devices by sysfsdev") end
    return {{"vfio-ccw", {id = id, sysfsdev = v.sysfsdev, devno = ctx:devno()}}}
  end
  return {{"vfio-pci", {id = id, host = v.host, sysfsdev = v.sysfsdev}}}
end

function M:append_vsock(ctx, v)
  return {{"vhost-vsock", self:virtio(ctx, {id = ctx:id("vsock"), guest_cid = v.cid,
                                            vhostfd = v.vhostfd and ctx:fd(v.vhostfd)})}}
end

function M:append_rng(ctx, r)
  r = type(r) == "table" and r or {}
  if r.backend == "builtin" then
    return {{"virtio-rng-builtin", self:virtio(ctx, {id = ctx:id("rng"), max_bytes = r.max_bytes,
                                                     period = r.period})}}
  end
  return {{"virtio-rng", self:virtio(ctx, {id = ctx:id("rng"),
                                           filename = r.filename or "/dev/urandom",
                                           max_bytes = r.max_bytes, period = r.period})}}
end

function M:append_balloon(ctx, b)
  b = type(b) == "table" and b or {}
  return {{"virtio-balloon", self:virtio(ctx, {id = ctx:id("balloon"),
                                               deflate_on_oom = b.deflate_on_oom,
                                               free_page_reporting = b.free_page_reporting})}}
end

function M:append_iommu(ctx)
  self:fail(("pod: iommu: not available on %s machine %s"):format(self.name, ctx.machine))
end

-- ---- hot-plug placement ------------------------------------------------

--- Where a hot-plugged device goes: on ccw its devno (which virtio() gave
--- it) is enough; on PCI the first free place on the buses the pod's
--- bridges made (a root port takes one device; a pci-bridge has slots 1
--- to 31). used: the keys of the places taken. Returns {bus =, addr =,
--- key =}, or nil and why there is none.
function M:hotplug_place(ctx, used)
  if ctx.transport == "ccw" then return {key = false} end
  if ctx.transport ~= "pci" then
    return nil, ("machine %s has no device hot-plug"):format(ctx.machine)
  end
  local info = self.machines[ctx.machine] or {}
  for _, bus in ipairs(ctx.hotplug_buses or {}) do
    if info.bridge == "pcie-root-port" then
      if not used[bus] then return {bus = bus, key = bus} end
    else
      for slot = 1, 31 do
        local key = bus .. "/" .. slot
        if not used[key] then return {bus = bus, addr = ("%x"):format(slot), key = key} end
      end
    end
  end
  if not info.bridge then
    return nil, ("machine %s has no hot-plug bridges"):format(ctx.machine)
  end
  if info.bridge == "pcie-root-port" then
    local n = #(ctx.hotplug_buses or {})
    if n == 0 then
      return nil, ("no free hot-plug place on machine %s: the pod has no pcie-root-port for " ..
                   "hot-plug (pod.hotplug_ports = N makes them, one device each)"):format(ctx.machine)
    end
    return nil, ("no free hot-plug place on machine %s: all %d of its pcie-root-ports are " ..
                 "taken (pod.hotplug_ports = N makes more, one device each)"):format(ctx.machine, n)
  end
  return nil, ("no free hot-plug place on machine %s: give the pod more bridges " ..
               "(pod.bridges = N, one %s each)"):format(ctx.machine, info.bridge)
end

--- The panic device QEMU learns of a guest panic from (the guest kernel's
--- pvpanic driver writes to it): added unless pod.pvpanic = false, where
--- capabilities.pvpanic is not false. Machines without one report panics
--- their own way (s390x: disabled wait; pseries: ibm,os-term) or, with
--- panic=-1, reboot, which ends QEMU too.
function M:append_pvpanic(ctx)
  if self.capabilities.pvpanic == false then return {} end
  return {{"pvpanic", {id = ctx:id("pvpanic")}}}
end

--- pod.guest_status: a virtio-serial port named vclaunch.status on a file
--- chardev; the guest writes its exit status there and vclaunch reads the
--- file. path: the file (the pod names "guest-status", its name in the
--- VM's runtime dir; pod:start() gives the full path).
function M:append_guest_status(ctx, path)
  return self:append_socket(ctx, {name = "vclaunch.status", backend = "file",
                                  path = type(path) == "string" and path or "guest-status"})
end

--- Whether a device the pod made at start (fields f of kind) can be
--- unplugged: nil, or why not. QEMU unplugs from a pcie-root-port, a
--- pci-bridge slot, pc's pci.0 (ACPI) and ccw; not from a PCIe root bus
--- (q35's pcie.0, virt's), nor from microvm's virtio-mmio.
function M:cold_unplug(ctx, _, f)
  if ctx.transport == "ccw" then return nil end
  if ctx.transport ~= "pci" then return ("machine %s has no device hot-plug"):format(ctx.machine) end
  local info = self.machines[ctx.machine] or {}
  if f.bus == nil and info.bridge == "pcie-root-port" then
    return ("it sits on %s, the root bus of machine %s, which QEMU cannot unplug from"):format(
           info.root_bus or "the root bus", ctx.machine)
  end
end

--- pod.memory_hotplug = "virtio-mem": a memory backend of the kind the
--- boot memory has (shared, huge pages), of max_memory - memory, and one
--- virtio-mem device on it that asks the guest for nothing at start;
--- vm:resize_memory moves its requested-size.
function M:append_virtio_mem(ctx)
  if ctx.transport ~= "pci" then
    self:fail(("pod: memory_hotplug: virtio-mem is a PCI device, and machine %s has no PCI"):format(
              ctx.machine))
  end
  local pod = ctx.pod
  local id = ctx:id("vmem")
  local backend = self:memory_backend(ctx, pod)
  local kind, f = "memory-backend-ram", {}
  if backend then
    kind = backend[1]
    for k, v in pairs(backend[2]) do f[k] = v end
  end
  -- prealloc would allocate what the guest has not plugged
  f.id, f.size, f.prealloc = id .. "-mem", (pod.max_memory - self:memory_size(pod)) .. "M", nil
  return {{kind, f}, {"virtio-mem", {id = id, memdev = id .. "-mem"}}}
end

return M
