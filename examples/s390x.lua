-- An s390x pod on the s390-ccw-virtio machine: every virtio device on the
-- channel subsystem with its own device number (fe.0.0001, ...), a
-- virtio-serial port for an agent, a balloon, the SCLP console. No guest
-- kernel comes with vclaunch for s390x: look at the command line, or pass
-- an s390x kernel (and initrd) to boot it.
--
--   vclaunch --dry-run examples/s390x.lua
--   vclaunch --accel tcg examples/s390x.lua vmlinuz [initrd.img]
local vc = require "vclaunch"

local kernel = arg[1] and {path = arg[1], initrd = arg[2]} or nil

return vc.pod{
  name = "hello-s390x",
  arch = "s390x",
  vcpus = 2,
  memory = 512,
  sockets = {{name = "org.vclaunch.agent", backend = "null"}},
  balloon = {deflate_on_oom = true},
  kernel = kernel,
}
