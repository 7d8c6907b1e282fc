-- Hot-plug and unplug seen from inside the test guest (its shell on the
-- console, vc.cmd=shell): each concept this machine can back is plugged,
-- found by the guest where guest_path says, unplugged, seen gone, and
-- plugged again into the freed place; a failing device_add leaves no
-- backend behind; what cannot be hot-plugged is refused before any QMP.
local vc = require "vclaunch"
local core = require "vclaunch.core"
local guest = assert(os.getenv("VC_GUEST_DIR"), "VC_GUEST_DIR is not set")

vc.options.accel = "tcg"

local tmp = os.tmpname()
os.remove(tmp)
local work = core.rundir("hotplug", tmp)

local function image(name, mib)
  local path = work .. "/" .. name
  local f = assert(io.open(path, "wb"))
  f:seek("set", mib * 1024 * 1024 - 1)
  f:write("\0")
  f:close()
  return path
end

local shell = dofile(assert(os.getenv("VC_SOURCE_DIR"), "VC_SOURCE_DIR is not set") ..
                    "/tests/lua/guest_shell.lua")
local boot, sh, until_ = shell.boot, shell.sh, shell.until_

-- The PCI path ("01/00") of the block device whose serial is serial, as
-- the guest sees it under /sys/bus/pci/devices.
local function block_path(vm, serial)
  local out = sh(vm, ('for d in /sys/block/vd*; do [ "$(cat $d/serial)" = %q ] && ' ..
                      'readlink -f $d/device/..; done'):format(serial))
  local dev = out[1]
  if not dev then return nil end
  local slots = {}
  for slot in dev:gmatch("/%x%x%x%x:%x%x:(%x%x)%.%x") do slots[#slots + 1] = slot end
  return table.concat(slots, "/")
end

local function shutdown(vm)
  vm.console:send("poweroff -f\n")
  eq(vm:wait(60).code, 0, "QEMU's exit status")
end

describe("hot-plug on q35, seen by the guest", function()
  local vm
  -- Root ports: a drive, the scsi and serial controllers (which stay once
  -- plugged), a NIC, a port's device, a vhost-user disk...
  it("boots with six root ports for hot-plug", function()
    vm = boot("hp-q35", {hotplug_ports = 6, hotplug_vhost_user = true})
  end)

  local disk1 = image("d1.img", 4)
  it("plugs a virtio-blk drive where guest_path says, unplugs it, plugs it again", function()
    local d = vm:hotplug("drives", {file = disk1, format = "raw", serial = "hot1"})
    eq(d.concept, "drives")
    eq(d.kind, "virtio-blk")
    eq(d.bus, "rp0")
    eq(until_(vm, "grep -qx hot1 /sys/block/vd*/serial 2>/dev/null"), true, "guest sees hot1")
    eq(block_path(vm, "hot1"), d.guest_path, "guest_path")
    local place = d.guest_path
    d:unplug()
    eq(until_(vm, "! grep -qx hot1 /sys/block/vd*/serial 2>/dev/null"), true, "hot1 gone")
    local again = vm:hotplug("drives", {file = disk1, format = "raw", serial = "hot1b"})
    eq(again.bus, "rp0", "the freed port")
    eq(until_(vm, "grep -qx hot1b /sys/block/vd*/serial 2>/dev/null"), true, "guest sees hot1b")
    eq(block_path(vm, "hot1b"), place, "same place")
    vm:unplug(again.id)
  end)

  it("unplugs a drive the guest powered off itself: no device_del, the port freed", function()
    local d = vm:hotplug("drives", {file = disk1, format = "raw", serial = "gone1"})
    eq(until_(vm, "grep -qx gone1 /sys/block/vd*/serial 2>/dev/null"), true, "guest sees gone1")
    -- The guest powers the disk's slot off (pciehp): QEMU deletes the device.
    local deleted = require("vclaunch.live").arm(vm, "DEVICE_DELETED", {device = d.id})
    sh(vm, "for b in /sys/block/vd*; do [ \"$(cat $b/serial)\" = gone1 ] || continue; " ..
           "a=$(basename $(readlink -f $b/device/..)); for s in /sys/bus/pci/slots/*; do " ..
           "[ \"$(cat $s/address)\" = \"${a%.*}\" ] && echo 0 > $s/power; done; done")
    deleted(30)
    d:unplug() -- QEMU has no such device any more: only its backend goes
    eq(#vm:execute("query-named-block-nodes"), 0, "the drive's block node is gone")
    local again = vm:hotplug("drives", {file = disk1, format = "raw", serial = "gone2"})
    eq(again.bus, d.bus, "the freed port")
    eq(until_(vm, "grep -qx gone2 /sys/block/vd*/serial 2>/dev/null"), true, "guest sees gone2")
    again:unplug()
  end)

  it("plugs a scsi-hd drive with its controller", function()
    local d = vm:hotplug("drives", {file = image("s1.img", 4), format = "raw", serial = "scsi1",
                                    interface = "scsi"})
    eq(d.kind, "scsi-hd")
    eq(d.guest_path, "0:0:0:0", "guest_path: host:channel:target:lun")
    eq(until_(vm, "ls /sys/block | grep -q ^sd"), true, "guest sees an sd disk")
    -- the disk is under its SCSI address in the guest
    eq(sh(vm, "ls /sys/bus/scsi/devices/" .. d.guest_path .. "/block")[1]:match("^sd%a+$") ~= nil,
       true, "sd disk at " .. d.guest_path)
    local second = vm:hotplug("drives", {file = image("s2.img", 4), format = "raw",
                                         serial = "scsi2", interface = "scsi"})
    eq(second.bus, d.bus, "the same controller")
    eq(until_(vm, "ls /sys/bus/scsi/devices/" .. second.guest_path .. "/block | grep -q ^sd"),
       true, "second disk at " .. second.guest_path)
    eq(second.guest_path ~= d.guest_path, true, "another address")
    second:unplug()
    d:unplug()
    eq(until_(vm, "! ls /sys/block | grep -q ^sd"), true, "the sd disk is gone")
  end)

  it("plugs a user-mode NIC and a virtio-serial port", function()
    local before = #sh(vm, "ls -1 /sys/class/net")
    local nic = vm:hotplug("endpoints", {type = "user", mac = "52:54:00:aa:bb:01"})
    eq(until_(vm, "grep -qx 52:54:00:aa:bb:01 /sys/class/net/*/address"), true, "guest sees the NIC")
    eq(#sh(vm, "ls -1 /sys/class/net"), before + 1)
    local port = vm:hotplug("sockets", {name = "org.vclaunch.hot", path = work .. "/port.sock"})
    eq(until_(vm, "grep -qx org.vclaunch.hot /sys/class/virtio-ports/*/name"), true, "port")
    port:unplug()
    nic:unplug()
    eq(until_(vm, "! grep -qx 52:54:00:aa:bb:01 /sys/class/net/*/address"), true, "NIC gone")
  end)

  it("plugs a vhost-user-blk disk served by qemu-storage-daemon", function()
    local sock = work .. "/vub.sock"
    local img = image("vub.img", 4)
    local qsd = core.process{argv = {"qemu-storage-daemon", "--blockdev",
      "driver=file,node-name=f,filename=" .. img, "--export",
      "type=vhost-user-blk,id=e,node-name=f,addr.type=unix,addr.path=" .. sock .. ",writable=on"}}
    -- qemu-storage-daemon tells readiness by its socket only
    local function listening()
      local t = core.process{argv = {"test", "-S", sock}}
      local st = t:wait(10)
      t:close()
      return st.code == 0
    end
    local deadline = core.now() + 30
    while not listening() and core.now() < deadline do vc.sleep(0.05) end
    local before = #sh(vm, "ls -1 /sys/block")
    local d = vm:hotplug("vhost_user", {type = "blk", socket = sock})
    eq(d.kind, "vhost-user-blk")
    eq(until_(vm, ("[ $(ls -1 /sys/block | wc -l) -gt %d ]"):format(before)), true, "a new disk")
    d:unplug()
    qsd:kill(15)
    qsd:wait(30)
    qsd:close()
  end)

  it("removes the backend again when device_add fails, and says which step", function()
    local e = expect_error(vm.hotplug, vm, "devices", {"virtio-blk", {id = "bad", file = disk1,
      format = "raw", device_id = "bad-dev", bus = "nosuchbus"}})
    eq(e.kind, "qmp")
    eq(e.message:match("^pod%.devices%[1%]: hot%-plug failed at device_add %(virtio%-blk%): ") ~= nil,
       true, e.message)
    for _, node in ipairs(vm:execute("query-named-block-nodes")) do
      eq(node["node-name"] ~= "bad", true, "blockdev 'bad' left behind")
    end
    -- the id is free again
    local d = vm:hotplug("devices", {"virtio-blk", {id = "bad", file = disk1, format = "raw",
                                                    device_id = "bad-dev", serial = "rawhot"}})
    eq(until_(vm, "grep -qx rawhot /sys/block/vd*/serial 2>/dev/null"), true, "raw device")
    d:unplug()
  end)

  it("removes the netdev and the chardev again when device_add fails", function()
    local e = expect_error(vm.hotplug, vm, "devices", {"virtio-net-user", {id = "badnet",
      mac = "52:54:00:aa:bb:0f", device_id = "badnet-dev", bus = "nosuchbus"}})
    eq(e.message:match("hot%-plug failed at device_add %(virtio%-net%-user%)") ~= nil, true,
       e.message)
    local net = vm:execute("human-monitor-command", {["command-line"] = "info network"})
    eq(net:find("badnet", 1, true), nil, "netdev 'badnet' left behind: " .. net)
    -- a second port of the same name: QEMU refuses the port after its chardev
    local port = vm:hotplug("sockets", {name = "org.vclaunch.dup", path = work .. "/dup1.sock"})
    local chardevs = #vm:execute("query-chardev")
    e = expect_error(vm.hotplug, vm, "sockets", {name = "org.vclaunch.dup",
                                                 path = work .. "/dup2.sock"})
    eq(e.message:match("hot%-plug failed at device_add %(virtserialport%)") ~= nil, true,
       e.message)
    eq(#vm:execute("query-chardev"), chardevs, "chardevs after the failed hot-plug")
    port:unplug()
  end)

  it("refuses what cannot be hot-plugged before any QMP command", function()
    local e = expect_error(vm.hotplug, vm, "volumes", {host_path = work, tag = "t9"})
    eq(e.kind, "recipe")
    eq(e.message:match("cannot be hot%-plugged: QEMU has no QMP command to add a %-fsdev") ~= nil,
       true, e.message)
    e = expect_error(vm.hotplug, vm, "kernel", {path = "/k"})
    eq(e.kind, "usage")
    e = expect_error(vm.unplug, vm, "nope")
    eq(e.message, "vm:unplug: no device 'nope' in hp-q35 that can be unplugged")
  end)

  it("runs out of places with a clear error, and frees them on unplug", function()
    local plugged, e = {}, nil
    for i = 1, 7 do
      local ok, d = pcall(vm.hotplug, vm, "drives", {file = disk1, format = "raw",
                                                     serial = "p" .. i, readonly = true})
      if not ok then e = d break end
      plugged[#plugged + 1] = d
    end
    eq(e ~= nil, true, "a seventh drive found no place")
    eq(e.message:match("no free hot%-plug place on machine q35: all 6 of its pcie%-root%-ports " ..
                       "are taken %(pod%.hotplug_ports = N makes more") ~= nil, true, e.message)
    local last = plugged[#plugged]
    last:unplug()
    local again = vm:hotplug("drives", {file = disk1, format = "raw", serial = "pz",
                                        readonly = true})
    eq(again.bus, last.bus, "the freed port")
    plugged[#plugged] = again
    for _, d in ipairs(plugged) do d:unplug() end
    shutdown(vm)
  end)
end)

describe("hot-plug on pc, into pci-bridge slots", function()
  it("plugs a drive into a bridge slot the guest sees", function()
    local vm = boot("hp-pc", {machine = "pc", bridges = 1})
    local d = vm:hotplug("drives", {file = image("pc.img", 4), format = "raw", serial = "pchot"})
    eq(d.bus, "pci-bridge0")
    eq(d.addr, "1")
    eq(until_(vm, "grep -qx pchot /sys/block/vd*/serial 2>/dev/null"), true, "guest sees pchot")
    eq(block_path(vm, "pchot"), d.guest_path, "guest_path")
    d:unplug()
    eq(until_(vm, "! grep -qx pchot /sys/block/vd*/serial 2>/dev/null"), true, "pchot gone")
    shutdown(vm)
  end)
end)

describe("unplugging the pod's own devices", function()
  it("on pc: a cold-plugged drive and NIC, by their ids, with their backends", function()
    local vm = boot("cold-pc", {machine = "pc",
      drives = {{file = image("cold.img", 4), format = "raw", serial = "cold1"}},
      endpoints = {{type = "user", mac = "52:54:00:c0:1d:01"}}})
    local ids = {}
    for _, d in ipairs(vm:devices()) do
      if d.id then ids[d.id] = d end
    end
    eq(ids["drive0-dev"] and ids["drive0-dev"].concept, "drives", "the drive, listed")
    eq(ids["net0-dev"] and ids["net0-dev"].concept, "endpoints", "the NIC, listed")
    eq(until_(vm, "grep -qx cold1 /sys/block/vd*/serial 2>/dev/null"), true, "guest sees cold1")
    vm:unplug("drive0-dev")
    eq(until_(vm, "! grep -qx cold1 /sys/block/vd*/serial 2>/dev/null"), true, "cold1 gone")
    for _, b in ipairs(vm:execute("query-block")) do
      eq(b.device ~= "drive0", true, "block backend drive0 left behind")
    end
    ids["net0-dev"]:unplug()
    eq(until_(vm, "! grep -qx 52:54:00:c0:1d:01 /sys/class/net/*/address"), true, "NIC gone")
    local net = vm:execute("human-monitor-command", {["command-line"] = "info network"})
    eq(net:find("net0", 1, true), nil, "netdev net0 left behind: " .. net)
    for _, d in ipairs(vm:devices()) do
      eq(d.id ~= "drive0-dev" and d.id ~= "net0-dev", true, "still listed: " .. tostring(d.id))
    end
    shutdown(vm)
  end)
end)

describe("fds a recipe opened", function()
  -- tapfd opens two taps and runs vclaunch with their fds; the recipe
  -- hands one to the pod (QEMU gets it under a number vclaunch assigns)
  -- and hot-plugs the other (passed with getfd).
  it("reach QEMU at start and by getfd, and the guest sees both NICs", function()
    local bin = assert(os.getenv("VC_BIN"), "VC_BIN is not set")
    local tapfd = assert(os.getenv("VC_TAPFD"), "VC_TAPFD is not set")
    local recipe = work .. "/taps.lua"
    local f = assert(io.open(recipe, "w"))
    f:write(([[
local vc = require "vclaunch"
local a, b = os.getenv("VC_TAP_FDS"):match("^(%%d+) (%%d+)$")
local vm = vc.pod{name = "taps", memory = 256, bridges = 1,
  kernel = {path = %q, initrd = %q, params = "vc.cmd=shell"},
  endpoints = {{type = "tap", fds = {tonumber(a)}, mac = "52:54:00:fd:00:01"}}}:start()
print("argv", table.concat(vm.argv, " "):match("fds=%%S+"))
vm.console:expect("# ", 120)
local nic = vm:hotplug("endpoints", {type = "tap", fds = {tonumber(b)}, mac = "52:54:00:fd:00:02"})
vm.console:send("i=0; while ! grep -q fd:00:02 /sys/class/net/*/address && [ $i -lt 300 ]; " ..
                "do sleep 0.1; i=$((i+1)); done; cat /sys/class/net/*/address; echo TAPS-END\n")
vm.console:expect("^TAPS%%-END", 60)
for _, l in ipairs(vm.console:history()) do
  if l:match("^52:54:00:fd") then print("guest", l) end
end
nic:unplug()
vm.console:send("poweroff -f\n")
vm:wait(60)
]]):format(guest .. "/vmlinuz", guest .. "/initrd.img"))
    f:close()
    local out = {}
    local p = core.process{argv = {tapfd, "vctapa", "vctapb", "--", bin, "--accel", "tcg", recipe},
                           on_line = function(stream, line) out[#out + 1] = stream .. ": " .. line end}
    local st = p:wait(180)
    p:close()
    local text = table.concat(out, "\n")
    eq(st.code, 0, text)
    eq(text:find("stdout: argv\tfds=4", 1, true) ~= nil, true, text)
    eq(text:find("stdout: guest\t52:54:00:fd:00:01", 1, true) ~= nil, true, text)
    eq(text:find("stdout: guest\t52:54:00:fd:00:02", 1, true) ~= nil, true, text)
  end)
end)

describe("hot-plug refusals that need no guest", function()
  it("refuses vhost-user without shared memory; a q35 pod has two ports by default", function()
    local vm = vc.pod{name = "hp-none", memory = 128, freeze = true}:start()
    local e = expect_error(vm.hotplug, vm, "vhost_user", {type = "blk", socket = work .. "/x"})
    eq(e.message, "pod.vhost_user[1]: a vhost-user device needs the guest memory shared from " ..
       "the start (pod.hotplug_vhost_user = true)")
    -- the pod asked for no ports: the default two take a drive each
    local img = image("none.img", 1)
    eq(vm:hotplug("drives", {file = img, format = "raw", readonly = true}).bus, "rp0")
    eq(vm:hotplug("drives", {file = img, format = "raw", readonly = true}).bus, "rp1")
    e = expect_error(vm.hotplug, vm, "drives", {file = "/dev/null", format = "raw"})
    eq(e.message, "pod.drives[3]: no free hot-plug place on machine q35: all 2 of its " ..
       "pcie-root-ports are taken (pod.hotplug_ports = N makes more, one device each)")
    vm:execute("quit")
    vm:wait(30)
    vm = vc.pod{name = "hp-noport", memory = 128, freeze = true, hotplug_ports = 0}:start()
    e = expect_error(vm.hotplug, vm, "drives", {file = "/dev/null", format = "raw"})
    eq(e.message, "pod.drives[1]: no free hot-plug place on machine q35: the pod has no " ..
       "pcie-root-port for hot-plug (pod.hotplug_ports = N makes them, one device each)")
    vm:execute("quit")
    vm:wait(30)
    -- a drive of the pod on q35's root bus cannot be unplugged
    vm = vc.pod{name = "hp-cold", memory = 128, freeze = true,
                drives = {{file = "/dev/null", format = "raw"}}}:start()
    e = expect_error(vm.unplug, vm, "drive0-dev")
    eq(e.message, "vm:unplug: drive0-dev: it sits on pcie.0, the root bus of machine q35, " ..
       "which QEMU cannot unplug from")
    vm:execute("quit")
    vm:wait(30)
    -- an arch policy says which concepts it hot-plugs
    local strict = vc.arch("amd64"):extend{capabilities = {hotplug = {drives = true}}}
    local sv = vc.pod{name = "hp-strict", arch = strict, memory = 128, freeze = true,
                      bridges = 1}:start()
    e = expect_error(sv.hotplug, sv, "endpoints", {type = "user"})
    eq(e.message, "vm:hotplug: amd64 cannot hot-plug endpoints")
    sv:execute("quit")
    sv:wait(30)
    local micro = vc.pod{name = "hp-micro", machine = "microvm", memory = 128, freeze = true}:start()
    e = expect_error(micro.hotplug, micro, "drives", {file = "/dev/null", format = "raw"})
    eq(e.message:match("machine microvm has no device hot%-plug") ~= nil, true, e.message)
    micro:execute("quit")
    micro:wait(30)
  end)
end)

-- VFIO and vsock need host devices this machine may lack: the QMP commands
-- vm:hotplug would send are golden-tested through live.plan (the same
-- checks and placement, nothing sent), and the live plug runs only where
-- the host has the device, else the case says "skipped: reason".
describe("VFIO and vsock hot-plug", function()
  local live = require "vclaunch.live"

  -- {command, arguments} lists as one line each, keys sorted.
  local function text(cmds)
    local out = {}
    for _, c in ipairs(cmds) do
      local keys, parts = {}, {}
      for k in pairs(c.arguments) do keys[#keys + 1] = k end
      table.sort(keys)
      for _, k in ipairs(keys) do parts[#parts + 1] = k .. "=" .. tostring(c.arguments[k]) end
      out[#out + 1] = c.command .. " " .. table.concat(parts, ",")
    end
    return table.concat(out, "\n")
  end

  it("plans device_add vfio-pci and vhost-vsock-pci on a free root port (q35) or bridge slot (pc)",
     function()
    local vm = vc.pod{name = "hp-gold", memory = 128, freeze = true, hotplug_ports = 2}:start()
    eq(text(live.plan(vm, "vfio", {host = "0000:01:00.0"})),
       "device_add bus=rp0,driver=vfio-pci,host=0000:01:00.0,id=vfio0")
    eq(text(live.plan(vm, "vfio", {sysfsdev = "/sys/bus/mdev/devices/m1", id = "gpu"})),
       "device_add bus=rp0,driver=vfio-pci,id=gpu,sysfsdev=/sys/bus/mdev/devices/m1")
    local cmds, places = live.plan(vm, "devices", {"vhost-vsock", {id = "vsock0", guest_cid = 5}})
    eq(text(cmds), "device_add bus=rp0,driver=vhost-vsock-pci,guest-cid=5,id=vsock0")
    eq(places[1].bus, "rp0")
    -- the same refusals as vm:hotplug, before any QMP command
    local e = expect_error(live.plan, vm, "vfio", {host = "01:00.0", sysfsdev = "/x"})
    eq(e.message, "pod.vfio[1]: needs exactly one of host and sysfsdev")
    -- a plan takes no place and no id: the next hot-plug gets rp0 and vfio0
    local img = image("gold.img", 1)
    eq(vm:hotplug("drives", {file = img, format = "raw", readonly = true}).bus, "rp0")
    eq(text(live.plan(vm, "vfio", {host = "0000:01:00.0"})),
       "device_add bus=rp1,driver=vfio-pci,host=0000:01:00.0,id=vfio0")
    vm:execute("quit")
    vm:wait(30)
    vm = vc.pod{name = "hp-gold-pc", machine = "pc", memory = 128, freeze = true,
                bridges = 1}:start()
    eq(text(live.plan(vm, "vfio", {host = "0000:01:00.0"})),
       "device_add addr=1,bus=pci-bridge0,driver=vfio-pci,host=0000:01:00.0,id=vfio0")
    eq(text(live.plan(vm, "devices", {"vhost-vsock", {id = "vsock0", guest_cid = 7}})),
       "device_add addr=1,bus=pci-bridge0,driver=vhost-vsock-pci,guest-cid=7,id=vsock0")
    vm:execute("quit")
    vm:wait(30)
  end)

  -- The first PCI device bound to vfio-pci on this host, or nil and why not.
  local function ls(dir)
    local p = io.popen("ls " .. dir .. " 2>/dev/null")
    local out = p:read("a")
    p:close()
    return out
  end
  local function vfio_device()
    if ls("/sys/kernel/iommu_groups") == "" then
      return nil, "the host has no IOMMU groups (/sys/kernel/iommu_groups is empty)"
    end
    local bound = ls("/sys/bus/pci/drivers/vfio-pci")
    local addr = bound:match("(%x%x%x%x:%x%x:%x%x%.%x)")
    if not addr then return nil, "no host PCI device is bound to vfio-pci" end
    return addr
  end

  it("plugs a host device bound to vfio-pci, and QEMU lists it where guest_path says", function()
    local addr, why = vfio_device()
    if not addr then skip(why) end
    local vm = vc.pod{name = "hp-vfio", memory = 128, freeze = true}:start()
    local d = vm:hotplug("vfio", {host = addr})
    eq(d.bus, "rp0")
    eq(tostring(d.guest_path):match("^%x%x/00$") ~= nil, true, tostring(d.guest_path))
    vm:execute("quit")
    vm:wait(30)
  end)

  it("plugs a vhost-vsock device, and QEMU lists it where guest_path says", function()
    local f = io.open("/dev/vhost-vsock", "r")
    if not f then skip("the host has no /dev/vhost-vsock (module vhost_vsock)") end
    f:close()
    local vm = vc.pod{name = "hp-vsock", memory = 128, freeze = true}:start()
    local d = vm:hotplug("devices", {"vhost-vsock", {id = "vsock0", guest_cid = 1000 + os.time() % 100000}})
    eq(d.bus, "rp0")
    eq(tostring(d.guest_path):match("^%x%x/00$") ~= nil, true, tostring(d.guest_path))
    vm:execute("quit")
    vm:wait(30)
  end)
end)

core.rundir_remove(work)
os.remove(tmp)
