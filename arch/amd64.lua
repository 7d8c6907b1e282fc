-- amd64 policy: q35 by default, microvm on request.
local base = require "vclaunch.arch.base"
local M = setmetatable({}, {__index = base})

M.name = "amd64"
M.binary = "qemu-system-x86_64"
M.machines = {q35 = {}, microvm = {}}
M.default_machine = "q35"
M.max_vcpus = 240
M.console_param = "console=ttyS0"

-- The CPU model: the host's under KVM; under TCG, everything TCG can do.
function M.cpu(pod, accel)
  return pod.cpu or (accel == "kvm" and "host" or "max")
end

-- The console: the legacy serial port on a chardev that vclaunch reads.
function M.console(id)
  return {
    {"chardev", {backend = "stdio", id = id}},
    {"serial", {chardev = id}},
  }
end

return M
