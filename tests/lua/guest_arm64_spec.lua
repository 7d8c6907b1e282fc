-- The arm64 guest under TCG on the virt machine: a Debian arm64 kernel and
-- a busybox initramfs (tests/guest/build-arm64.sh, built here into
-- $VC_BUILD_DIR/guest-arm64 when missing). Boots to the marker on the PL011
-- console, powers off on system_powerdown (virt's GPIO power button) with
-- status 0; the example recipe powers itself off with status 0.
local vc = require "vclaunch"
local core = require "vclaunch.core"

local src = os.getenv("VC_SOURCE_DIR") or "."
local dir = os.getenv("VC_GUEST_ARM64_DIR") or
            ((os.getenv("VC_BUILD_DIR") or "build") .. "/guest-arm64")

-- Builds (or finds cached) the arm64 guest; skips the spec when it cannot
-- be had here (no network, no arm64 package lists).
local function build_guest()
  local err = {}
  local p = core.process{argv = {src .. "/tests/guest/build-arm64.sh", dir},
    on_line = function(stream, line)
      if stream == "stderr" then err[#err + 1] = line end
    end}
  local status = p:wait()
  p:close()
  if status.code == 77 then
    print("skipped: the arm64 guest cannot be built here:\n" .. table.concat(err, "\n"))
    os.exit(77)
  end
  if status.code ~= 0 then
    error("tests/guest/build-arm64.sh failed (" .. tostring(status.code or status.signal) ..
          "):\n" .. table.concat(err, "\n"), 0)
  end
end
build_guest()

vc.options.accel = "tcg" -- KVM hangs on the CI machines; arm64 on x86 is TCG anyway
vc.options.runtime_dir = os.tmpname() .. ".d"
os.remove(vc.options.runtime_dir:sub(1, -3))

describe("the arm64 guest", function()
  it("boots to the marker and powers off on system_powerdown with status 0", function()
    local vm = vc.pod{name = "arm64", arch = "arm64", memory = 256,
                      kernel = {path = dir .. "/vmlinuz", initrd = dir .. "/initrd.img"}}:start()
    eq(vm.argv[1], "qemu-system-aarch64", "binary")
    vm.console:expect("VCLAUNCH%-GUEST%-READY", 120)
    eq(vm:status(), "running")
    local status = vm:shutdown{timeout = 30}
    eq(status.code, 0, "exit code")
    vm.console:expect("VCLAUNCH%-GUEST%-POWEROFF", 1)
  end)

  it("sees a virtio-pci disk, a 9p share and a virtio-rng on virt's PCIe", function()
    local share = core.rundir("share", vc.options.runtime_dir)
    local f = assert(io.open(share .. "/hello.txt", "w"))
    f:write("hello from the host\n")
    f:close()
    local img = share .. "/disk.img"
    f = assert(io.open(img, "wb"))
    f:write(string.rep("\0", 1024 * 1024))
    f:close()
    local vm = vc.pod{name = "arm64-info", arch = "arm64", memory = 256,
                      kernel = {path = dir .. "/vmlinuz", initrd = dir .. "/initrd.img",
                                params = "vc.cmd=info"},
                      drives = {{file = img, serial = "vcdisk"}},
                      volumes = {{host_path = share, tag = "share0"}},
                      rng = {backend = "builtin"}}:start()
    vm.console:expect("^VC%-INFO cmdline: console=ttyAMA0 quiet panic=%-1 vc.cmd=info$", 120)
    vm.console:expect("^block vda: size=2048 serial=vcdisk$", 5)
    vm.console:expect("^rng_current: virtio_rng", 5)
    vm.console:expect("^VC%-INFO share0:$", 5)
    vm.console:expect("^hello from the host$", 5)
    vm.console:expect("^VC%-INFO%-END$", 5)
    eq(vm:wait().code, 0, "exit code")
    core.rundir_remove(share)
  end)

  it("hot-plugs a disk into a root port of virt, and unplugs it", function()
    local img = vc.options.runtime_dir .. "/hot.img"
    local f = assert(io.open(img, "wb"))
    f:write(string.rep("\0", 1024 * 1024))
    f:close()
    local vm = vc.pod{name = "arm64-hp", arch = "arm64", memory = 256, bridges = 1,
                      kernel = {path = dir .. "/vmlinuz", initrd = dir .. "/initrd.img",
                                params = "vc.cmd=shell"}}:start()
    vm.console:expect("VCLAUNCH%-GUEST%-READY", 120)
    vm.console:expect("# ", 60)
    local d = vm:hotplug("drives", {file = img, format = "raw", serial = "armhot"})
    eq(d.bus, "rp0")
    -- (the serial attribute has no newline on this kernel: grep without -x)
    vm.console:send("i=0; while ! grep -q armhot /sys/block/vd*/serial 2>/dev/null && " ..
                    "[ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done; " ..
                    "cat /sys/block/vd*/serial; echo; echo ARM-END\n")
    vm.console:expect("^ARM%-END$", 60)
    local seen = false
    for _, l in ipairs(vm.console:history()) do seen = seen or l == "armhot" end -- cat's line
    eq(seen, true, "the guest sees armhot")
    d:unplug()
    vm.console:send("poweroff -f\n")
    eq(vm:wait(60).code, 0, "exit code")
    os.remove(img)
  end)

  it("runs examples/arm64.lua: the guest powers itself off, status 0", function()
    local saved = arg
    arg = {[0] = src .. "/examples/arm64.lua", dir}
    local ok, pod = pcall(dofile, src .. "/examples/arm64.lua")
    arg = saved
    if not ok then error(pod, 0) end
    local vm = pod:start()
    vm.console:expect("VCLAUNCH%-GUEST%-READY", 120)
    eq(vm:wait().code, 0, "exit code")
    vm.console:expect("VCLAUNCH%-GUEST%-POWEROFF", 1)
    local cmdline = table.concat(vm.argv, " ")
    eq(cmdline:find("-append console=ttyAMA0 quiet panic=-1 vc.cmd=poweroff", 1, true) ~= nil,
       true, cmdline)
  end)
end)
