-- The test guest on microvm: no PCI, no firmware tables to walk; every
-- virtio device sits on virtio-mmio (virtio-*-device), and QEMU describes
-- them to the kernel itself (ACPI; auto-kernel-cmdline is on by default).
--
--   vclaunch --accel tcg examples/microvm.lua [GUEST_DIR]
--
-- microvm has neither an HPET nor an ACPI PM timer. Under TCG the guest's
-- TSC is the host's, and the kernel's calibration against the PIT fails at
-- random ("tsc: Unable to calibrate against PIT") and the boot stalls; the
-- amd64 policy hands such a guest the host's TSC rate (tsc_early_khz=),
-- which spares it that.
local vc = require "vclaunch"

local dir = arg[1] or os.getenv("VC_GUEST_DIR") or "build/guest"

return vc.pod{
  name = "micro",
  machine = "microvm",
  vcpus = 1,
  memory = 256,
  kernel = {
    path = dir .. "/vmlinuz",
    initrd = dir .. "/initrd.img",
    params = "vc.cmd=poweroff",
  },
  rng = true,
  balloon = true,
}
