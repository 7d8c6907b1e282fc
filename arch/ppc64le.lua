-- ppc64le policy: the pseries machine (sPAPR), conventional PCI bridges on
-- the PHB's pci.0, the hypervisor console (spapr-vty, hvc0) as the console.
local base = require "vclaunch.arch.base"
local M = setmetatable({}, {__index = base})

M.name = "ppc64le"
M.binary = "qemu-system-ppc64"
M.machines = {
  pseries = {transport = "pci", bridge = "pci-bridge", root_bus = "pci.0"},
}
M.default_machine = "pseries"
M.max_vcpus = 128
-- pseries hotplugs memory in 256 MiB blocks: maxmem is rounded up to it.
M.memory_align = 256
M.console_param = "console=hvc0"
-- no ISA bus for the ISA pvpanic device
M.capabilities = {block_hotplug = true, multiqueue = true, fs_sharing = true,
                  memory_hotplug = true, virtio_mem = false, pvpanic = false, rng = true}

--- pseries without USB. Under TCG the speculation-mitigation capabilities
--- QEMU asks for by default (workaround/on) do not exist: ask for none, so
--- QEMU starts without a warning per capability. Under KVM QEMU's defaults
--- match what the host offers.
function M:machine(pod, accel)
  local m = base.machine(self, pod, accel)
  m.usb = false
  if accel ~= "kvm" then
    m.cap_cfpc = "broken"
    m.cap_sbbc = "broken"
    m.cap_ibs = "broken"
    m.cap_ccf_assist = false
  end
  return m
end

--- The host's CPU under KVM; a POWER9 under TCG.
function M:cpu(pod, accel)
  return pod.cpu or (accel == "kvm" and "host" or "power9")
end

--- pseries boot memory comes in 256 MiB blocks too.
function M:memory(pod)
  local size = self:memory_size(pod)
  if size % self.memory_align ~= 0 then
    self:fail(("pod: memory: %d MiB is not a multiple of %d MiB (pseries memory blocks)")
              :format(size, self.memory_align))
  end
  return base.memory(self, pod)
end

return M
