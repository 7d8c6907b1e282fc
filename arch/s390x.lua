-- s390x policy: the s390-ccw-virtio machine. Every virtio device sits on
-- the channel subsystem (ccw transport) with a device number fe.0.NNNN;
-- there is no PCI, so no hotplug bridges, and no virtio-rng (the CPU has
-- CPACF). The console is the SCLP console (ttysclp0). The CPU model is
-- base's: host under KVM, max under TCG.
local base = require "vclaunch.arch.base"
local M = setmetatable({}, {__index = base})

M.name = "s390x"
M.binary = "qemu-system-s390x"
-- QEMU also puts PCI devices on s390x (zPCI): a raw device may ask for pci.
M.machines = {
  ["s390-ccw-virtio"] = {transport = "ccw", transports = {"ccw", "pci"}},
}
M.default_machine = "s390-ccw-virtio"
M.max_vcpus = 248
M.console_param = "console=ttysclp0"
-- No pc-dimm on s390x: guest memory hotplug needs virtio-mem-ccw, which
-- QEMU 7.2 lacks. (QEMU still accepts maxmem.)
M.capabilities = {block_hotplug = true, multiqueue = true, fs_sharing = true,
                  memory_hotplug = false, virtio_mem = false, pvpanic = false, rng = false}

-- The console is base's chardev + -serial: on s390-ccw-virtio QEMU puts the
-- first -serial on the SCLP console (sclpconsole), the guest's ttysclp0.

-- Passed-through host devices are subchannels: base's append_vfio gives
-- vfio-ccw on the ccw transport.

return M
