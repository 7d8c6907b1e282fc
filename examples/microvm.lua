-- The test guest on microvm: no PCI, no firmware tables to walk; every
-- virtio device sits on virtio-mmio (virtio-*-device), and QEMU describes
-- them to the kernel itself (ACPI; auto-kernel-cmdline is on by default).
--
--   vclaunch --accel tcg examples/microvm.lua [GUEST_DIR]
--
-- microvm has neither an HPET nor an ACPI PM timer. Under TCG the guest's
-- TSC is the host's, and on a busy host the kernel can fail to calibrate
-- it against the PIT ("tsc: Unable to calibrate against PIT") and stall.
-- Handing it the host's TSC rate (tsc_early_khz) spares it that.
local vc = require "vclaunch"

local dir = arg[1] or os.getenv("VC_GUEST_DIR") or "build/guest"

-- The host's TSC rate in kHz, from /proc/cpuinfo (constant-TSC hosts).
local function host_tsc_khz()
  local f = io.open("/proc/cpuinfo", "r")
  if not f then return nil end
  local mhz = f:read("a"):match("cpu MHz%s*:%s*([%d.]+)")
  f:close()
  return mhz and math.floor(tonumber(mhz) * 1000 + 0.5)
end

local khz = host_tsc_khz()

return vc.pod{
  name = "micro",
  machine = "microvm",
  vcpus = 1,
  memory = 256,
  kernel = {
    path = dir .. "/vmlinuz",
    initrd = dir .. "/initrd.img",
    params = "vc.cmd=poweroff" .. (khz and (" tsc_early_khz=" .. khz) or ""),
  },
  rng = true,
  balloon = true,
}
