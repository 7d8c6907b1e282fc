-- Drives a VM from the recipe: the recipe runs in a task, so every waiting
-- call reads as straight-line code.
--
--   vclaunch --accel tcg examples/drive.lua [GUEST_DIR]
local vc = require "vclaunch"

local dir = arg[1] or os.getenv("VC_GUEST_DIR") or "build/guest"
local pod = vc.pod{name = "drive", memory = 256,
                   kernel = {path = dir .. "/vmlinuz", initrd = dir .. "/initrd.img"}}

local vm = pod:start()
vm.console:expect("VCLAUNCH%-GUEST%-READY", 60)   -- a Lua pattern
print(vm:status())                                 -- running
vm:on("STOP", function(ev) print("stopped") end)
vm:pause()
vm:resume()
print(#vm:execute("query-pci")[1].devices > 0)    -- true
-- another task waits for the guest's own shutdown event
local seen = vc.spawn(function()
  return vm:wait_event("SHUTDOWN", {match = {guest = true}, timeout = 30}).data.reason
end)
local st = vm:shutdown{timeout = 10} -- system_powerdown, quit, SIGTERM, SIGKILL
print(seen:wait())                   -- guest-shutdown
print(st.code)                       -- 0
