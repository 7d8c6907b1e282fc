-- A q35 pod with the test guest: a virtio-rng, a balloon, a user-mode NIC
-- and two hotplug root ports next to the serial console. The guest powers
-- itself off; vclaunch exits with QEMU's status.
--
--   vclaunch --accel tcg examples/amd64.lua [GUEST_DIR]
local vc = require "vclaunch"

local dir = arg[1] or os.getenv("VC_GUEST_DIR") or "build/guest"

return vc.pod{
  name = "amd64",
  machine = "q35",
  vcpus = 2,
  max_vcpus = 4,
  memory = 256,
  kernel = {
    path = dir .. "/vmlinuz",
    initrd = dir .. "/initrd.img",
    params = "vc.cmd=poweroff",
  },
  rng = true,
  balloon = {deflate_on_oom = true},
  endpoints = {{type = "user", mac = "52:54:00:12:34:56"}},
  pvpanic = true,
  bridges = 2,
}
