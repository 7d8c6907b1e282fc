-- A ppc64le pod on the pseries machine: two PCI bridges for hotplug, a
-- virtio-rng and a balloon, boot memory in pseries' 256 MiB blocks and room
-- to hotplug more. No guest kernel comes with vclaunch for ppc64le: look at
-- the command line, or pass a ppc64le kernel (and initrd) to boot it.
--
--   vclaunch --dry-run examples/ppc64le.lua
--   vclaunch --accel tcg examples/ppc64le.lua vmlinux [initrd.img]
local vc = require "vclaunch"

local kernel = arg[1] and {path = arg[1], initrd = arg[2]} or nil

return vc.pod{
  name = "hello-ppc64le",
  arch = "ppc64le",
  vcpus = 1,
  max_vcpus = 4,
  memory = 512,
  max_memory = 2000, -- rounded up to 2048 MiB
  bridges = 2,
  rng = true,
  balloon = {deflate_on_oom = true},
  kernel = kernel,
}
