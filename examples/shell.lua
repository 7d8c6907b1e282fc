-- Boots the test guest with its shell on the console: type commands to it
-- (vclaunch's stdin goes to the guest's console), leave with Ctrl-] (the
-- VM goes down the shutdown ladder), or type `exit` (the guest powers off).
--
--   vclaunch --accel tcg examples/shell.lua [GUEST_DIR [KERNEL_PARAMS]]
local vc = require "vclaunch"

local dir = arg[1] or os.getenv("VC_GUEST_DIR") or "build/guest"
local params = "vc.cmd=shell" .. (arg[2] and " " .. arg[2] or "")

return vc.pod{
  name = "shell",
  vcpus = 1,
  memory = 256,
  kernel = {
    path = dir .. "/vmlinuz",
    initrd = dir .. "/initrd.img",
    params = params,
  },
}
