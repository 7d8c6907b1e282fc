-- Boots the test guest (a Debian kernel and a busybox initramfs that
-- tests/guest/build.sh makes), prints what it prints, and exits with
-- QEMU's status once the guest powers itself off.
--
--   vclaunch --accel tcg examples/hello.lua [GUEST_DIR]
local vc = require "vclaunch"

local dir = arg[1] or os.getenv("VC_GUEST_DIR") or "build/guest"

return vc.pod{
  name = "hello",
  vcpus = 1,
  memory = 256,
  kernel = {
    path = dir .. "/vmlinuz",
    initrd = dir .. "/initrd.img",
    params = "vc.cmd=poweroff",
  },
}
