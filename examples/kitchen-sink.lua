-- Most of what a pod can hold, on q35: a rootfs image, a 9p share, two
-- virtio-serial ports, a user-mode NIC, a virtio-blk and a SCSI disk, an
-- entropy source, a balloon, the Intel IOMMU, pvpanic, hotplug root ports,
-- shared preallocated memory, raw devices and raw arguments.
--
--   vclaunch --dry-run examples/kitchen-sink.lua [GUEST_DIR [SCRATCH_DIR]]
--
-- It writes two small sparse disk images into SCRATCH_DIR (default
-- $TMPDIR or /tmp) so that QEMU can open them; tests/arch/amd64_spec.lua
-- starts it frozen (-S) and asks QEMU what it built. Left out because they
-- need a daemon or host hardware (see docs/pods.md):
--   vhost_user = {{type = "fs", socket = "/run/virtiofsd.sock", tag = "fs"}},
--   vfio = {{host = "0000:01:00.0"}}, vsock = {cid = 3},
--   endpoints = {{type = "tap", ifname = "tap0", vhost = true}}
local vc = require "vclaunch"

local dir = arg[1] or os.getenv("VC_GUEST_DIR") or "build/guest"
local scratch = arg[2] or os.getenv("TMPDIR") or "/tmp"

-- A sparse raw image of size bytes (kept if it exists).
local function disk(name, size)
  local path = scratch .. "/kitchen-sink-" .. name .. ".raw"
  local f = io.open(path, "r")
  if not f then
    f = assert(io.open(path, "w"))
    f:seek("set", size - 1)
    f:write("\0")
  end
  f:close()
  return path
end

return vc.pod{
  name = "kitchen-sink",
  uuid = "6f1c2a4e-0b7d-4c1e-9a55-3f2d8e9b0c11",
  machine = "q35",
  vcpus = 2,
  max_vcpus = 4,
  memory = 256,
  max_memory = 1024,
  memory_slots = 2,
  kernel = {path = dir .. "/vmlinuz", initrd = dir .. "/initrd.img", params = "vc.cmd=info"},
  image = disk("rootfs", 1024 * 1024),
  volumes = {{host_path = scratch, tag = "share0", readonly = true}},
  sockets = {
    {name = "org.vclaunch.agent", path = scratch .. "/kitchen-sink-agent.sock"},
    {name = "org.vclaunch.log", backend = "file", path = scratch .. "/kitchen-sink-port.log"},
  },
  endpoints = {{type = "user", mac = "52:54:00:12:34:56"}},
  drives = {
    {file = disk("data", 4 * 1024 * 1024), serial = "data0"},
    {file = disk("scsi", 1024 * 1024), interface = "scsi", readonly = true, serial = "scsi0"},
  },
  rng = {filename = "/dev/urandom", max_bytes = 1024, period = 1000},
  balloon = {deflate_on_oom = true, free_page_reporting = true},
  iommu = true,
  pvpanic = true,
  bridges = 2,
  knobs = {shared_memory = true, prealloc = true, no_reboot = true},
  devices = {
    {"rtc", {base = "utc", clock = "host"}},
    {"iothread", {id = "io0"}},
  },
  extra_args = {"-device", "virtio-keyboard-pci,id=kbd0"},
}
