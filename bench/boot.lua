-- Boot benchmark, the vclaunch side: one pod with the test guest's kernel
-- and initramfs under the default amd64 policy, timed from pod:start() to
-- the guest's ready marker on the console; then killed.
--
--   build/vclaunch --accel tcg bench/boot.lua GUEST_DIR MACHINE [pod]
--
-- MACHINE: q35 or microvm. Prints "boot_ms T" on stdout. With "pod" it
-- returns the pod unstarted, so that `vclaunch --dry-run` prints its argv
-- (bench/boot.sh shows it next to the hand-written command lines).
local vc = require "vclaunch"
local core = require "vclaunch.core"

local dir, machine = arg[1], arg[2]
if not dir or not machine then error("usage: boot.lua GUEST_DIR q35|microvm [pod]", 0) end

local pod = vc.pod{name = "boot-" .. machine, machine = machine, memory = 256, accel = "tcg",
                   kernel = {path = dir .. "/vmlinuz", initrd = dir .. "/initrd.img"}}
if arg[3] == "pod" then return pod end

local t0 = core.now()
local vm = pod:start()
vm.console:expect("VCLAUNCH%-GUEST%-READY", 300)
local ms = (core.now() - t0) * 1000
print(("boot_ms %.1f"):format(ms))
vm:kill()
