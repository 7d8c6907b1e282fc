-- Boots the arm64 test guest (a Debian arm64 kernel and a busybox
-- initramfs that tests/guest/build-arm64.sh makes) on the virt machine,
-- prints its console, and exits with QEMU's status once the guest powers
-- itself off. Under TCG this takes a few seconds on an x86 host.
--
--   tests/guest/build-arm64.sh build/guest-arm64
--   vclaunch --accel tcg examples/arm64.lua [GUEST_DIR]
local vc = require "vclaunch"

local dir = arg[1] or os.getenv("VC_GUEST_ARM64_DIR") or "build/guest-arm64"

return vc.pod{
  name = "hello-arm64",
  arch = "arm64",
  vcpus = 1,
  memory = 256,
  kernel = {
    path = dir .. "/vmlinuz",
    initrd = dir .. "/initrd.img",
    params = "vc.cmd=poweroff",
  },
}
