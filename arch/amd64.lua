-- amd64 policy: q35 by default; pc with conventional PCI bridges; microvm
-- (virtio-mmio, no PCI) on request.
local base = require "vclaunch.arch.base"
local M = setmetatable({}, {__index = base})

M.name = "amd64"
M.binary = "qemu-system-x86_64"
M.machines = {
  q35 = {transport = "pci", bridge = "pcie-root-port", root_bus = "pcie.0"},
  pc = {transport = "pci", bridge = "pci-bridge", root_bus = "pci.0"},
  microvm = {transport = "mmio"},
}
M.default_machine = "q35"
M.max_vcpus = 240
M.console_param = "console=ttyS0"

function M:machine(pod, accel)
  local m = base.machine(self, pod, accel)
  -- Interrupt remapping for the IOMMU needs the split irqchip under KVM.
  if pod.iommu and accel == "kvm" then m.kernel_irqchip = "split" end
  return m
end

-- microvm has no memory hotplug: no maxmem there.
function M:memory(pod)
  if pod.machine == "microvm" and pod.max_memory then
    self:fail("pod: max_memory: machine microvm has no memory hotplug")
  end
  return base.memory(self, pod)
end

-- A microvm guest under TCG is told its TSC's rate: TCG gives the guest the
-- host's counter, and microvm has no HPET or ACPI PM timer, so when the
-- kernel's calibration against the PIT fails (under TCG it does at random:
-- 4 boots of 21 on a quiet 2-core host), it marks the TSC unstable and
-- the boot hangs. q35 and pc have both timers; under KVM, kvmclock gives
-- the rate.
function M:clock_params(pod, accel, host)
  if pod.machine == "microvm" and accel == "tcg" and host and host.tsc_khz then
    return {"tsc_early_khz=" .. host.tsc_khz}
  end
  return {}
end

-- The emulated Intel IOMMU exists on q35 only.
function M:append_iommu(ctx)
  if ctx.machine ~= "q35" then return base.append_iommu(self, ctx) end
  return {{"intel-iommu", {id = ctx:id("iommu")}}}
end

-- A VM inside a VM: the CPU flags list "hypervisor" (host facts are
-- gathered by vclaunch, not read here).
function M:running_on_vmm(host)
  return host.cpu_flags.hypervisor == true
end

return M
