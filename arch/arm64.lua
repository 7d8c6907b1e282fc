-- arm64 policy: the virt machine, PCIe with root ports for hotplug, the
-- PL011 UART as the console, GICv3 so that up to 123 vCPUs fit.
local base = require "vclaunch.arch.base"
local M = setmetatable({}, {__index = base})

M.name = "arm64"
M.binary = "qemu-system-aarch64"
-- virt also has virtio-mmio slots: a raw device may ask for mmio.
M.machines = {
  virt = {transport = "pci", transports = {"pci", "mmio"}, bridge = "pcie-root-port",
          root_bus = "pcie.0"},
}
M.default_machine = "virt"
-- virt's GICv3 redistributor region holds 123 CPUs (GICv2: 8).
M.max_vcpus = 123
M.console_param = "console=ttyAMA0"
-- pvpanic: pvpanic-pci (virt has no ISA bus for the ISA one)
M.capabilities = {block_hotplug = true, multiqueue = true, fs_sharing = true,
                  memory_hotplug = true, pvpanic = true, rng = true}

--- virt without USB; the host's GIC under KVM, an emulated GICv3 under TCG
--- (virt's default GICv2 stops at 8 vCPUs).
function M:machine(pod, accel)
  local m = base.machine(self, pod, accel)
  m.usb = false
  m.gic_version = accel == "kvm" and "host" or "3"
  return m
end

--- The host's CPU under KVM; under TCG a Cortex-A57, which boots the
--- generic arm64 kernel faster than "max" (no emulated pointer
--- authentication to pay for on every call).
function M:cpu(pod, accel)
  return pod.cpu or (accel == "kvm" and "host" or "cortex-a57")
end

--- The panic device: pvpanic-pci, on the root bus.
function M:append_pvpanic(ctx)
  return {{"pvpanic-pci", {id = ctx:id("pvpanic")}}}
end

--- 9p without multidevs: the arm64 policy never set it.
function M:append_volume(ctx, v)
  local d = base.append_volume(self, ctx, v)
  for _, dev in ipairs(d) do
    if dev[1] == "virtio-9p" then dev[2].multidevs = nil end
  end
  return d
end

return M
