-- arm64 policy: pods in, argv out (expected arrays written by hand), and
-- qemu-system-aarch64 accepts what the policy builds.
local vc = require "vclaunch"
local h = dofile((os.getenv("VC_SOURCE_DIR") or ".") .. "/tests/arch/helpers.lua")

h.fresh_runtime_dir()

-- Every device QEMU reports on every PCI bus, bridges' buses included.
local function pci_devices(buses, out)
  out = out or {}
  for _, bus in ipairs(buses) do
    for _, dev in ipairs(bus.devices or {}) do
      out[#out + 1] = dev
      if dev.pci_bridge and dev.pci_bridge.devices then
        pci_devices({{devices = dev.pci_bridge.devices}}, out)
      end
    end
  end
  return out
end

describe("arm64", function()
  it("builds a minimal pod: virt with GICv3, Cortex-A57, the PL011 console", function()
    local p = vc.pod{arch = "arm64", accel = "tcg", name = "a1", hotplug_ports = 0,
                     kernel = {path = "/boot/Image", params = "x=1"}}
    h.argv_eq(p:argv(), {
      "qemu-system-aarch64",
      "-name", "a1",
      "-machine", "virt,accel=tcg,gic-version=3,usb=off",
      "-cpu", "cortex-a57",
      "-smp", "1,sockets=1,cores=1,threads=1,maxcpus=1",
      "-m", "512M",
      "-nodefaults", "-no-user-config", "-display", "none",
      "-action", "reboot=shutdown,panic=exit-failure",
      "-chardev", "stdio,id=console",
      "-serial", "chardev:console",
      "-kernel", "/boot/Image",
      "-append", "console=ttyAMA0 quiet panic=-1 x=1",
      "-device", "pvpanic-pci,id=pvpanic0",
    })
  end)

  it("uses the host's GIC and CPU under KVM", function()
    local p = vc.pod{arch = "arm64", accel = "kvm", name = "a2", vcpus = 2, max_vcpus = 8,
                     hotplug_ports = 0}
    h.argv_eq(p:argv(), {
      "qemu-system-aarch64",
      "-name", "a2",
      "-machine", "virt,accel=kvm,gic-version=host,usb=off",
      "-cpu", "host",
      "-smp", "2,sockets=8,cores=1,threads=1,maxcpus=8",
      "-m", "512M",
      "-nodefaults", "-no-user-config", "-display", "none",
      "-action", "reboot=shutdown,panic=exit-failure",
      "-chardev", "stdio,id=console",
      "-serial", "chardev:console",
      "-device", "pvpanic-pci,id=pvpanic0",
    })
  end)

  it("puts virtio devices on PCI, 9p without multidevs, root ports for bridges", function()
    local p = vc.pod{arch = "arm64", accel = "tcg", name = "a3", memory = 256,
                     max_memory = 1024, image = "/img/root.img",
                     volumes = {{host_path = "/srv/share", tag = "share0"}},
                     drives = {{file = "/img/data.qcow2", format = "qcow2"}},
                     bridges = 2}
    h.argv_eq(p:argv(), {
      "qemu-system-aarch64",
      "-name", "a3",
      "-machine", "virt,accel=tcg,gic-version=3,usb=off",
      "-cpu", "cortex-a57",
      "-smp", "1,sockets=1,cores=1,threads=1,maxcpus=1",
      "-m", "256M,slots=1,maxmem=1024M",
      "-nodefaults", "-no-user-config", "-display", "none",
      "-action", "reboot=shutdown,panic=exit-failure",
      "-chardev", "stdio,id=console",
      "-serial", "chardev:console",
      "-drive", "if=none,id=image0,file=/img/root.img,format=raw,readonly=on",
      "-device", "virtio-blk-pci,drive=image0,id=image0-dev",
      "-fsdev", "local,id=fs0,path=/srv/share,security_model=none",
      "-device", "virtio-9p-pci,fsdev=fs0,mount_tag=share0",
      "-drive", "if=none,id=drive0,file=/img/data.qcow2,format=qcow2",
      "-device", "virtio-blk-pci,drive=drive0,id=drive0-dev",
      "-device", "pvpanic-pci,id=pvpanic0",
      "-device", "pcie-root-port,id=rp0,bus=pcie.0,chassis=1,slot=1",
      "-device", "pcie-root-port,id=rp1,bus=pcie.0,chassis=2,slot=2",
    })
  end)

  it("refuses more than 123 vCPUs; pvpanic is pvpanic-pci, or none with pvpanic = false", function()
    local msg = h.pod_error{arch = "arm64", accel = "tcg", vcpus = 1, max_vcpus = 124}
    eq(msg:find("max_vcpus (124) is above arm64's limit (123)", 1, true) ~= nil, true, msg)
    local argv = table.concat(vc.pod{arch = "arm64", accel = "tcg", pvpanic = true}:argv(), " ")
    eq(argv:find("-device pvpanic-pci,id=pvpanic0", 1, true) ~= nil, true, argv)
    argv = table.concat(vc.pod{arch = "arm64", accel = "tcg", pvpanic = false}:argv(), " ")
    eq(argv:find("pvpanic", 1, true), nil, argv)
  end)

  it("has an example recipe for qemu-system-aarch64", function()
    local p = h.example_pod("arm64", {h.build .. "/guest-arm64"})
    eq(p:argv()[1], "qemu-system-aarch64", "binary")
    eq(p.arch.name, "arm64")
  end)

  it("starts in qemu-system-aarch64 with its root ports and virtio-pci devices", function()
    local img = h.scratch(1024 * 1024)
    -- 123 possible vCPUs: QEMU refuses more than 8 unless the GIC is v3.
    local vm = vc.pod{arch = "arm64", accel = "tcg", name = "a4", freeze = true,
                      memory = 256, max_memory = 1024, max_vcpus = 123, image = img,
                      volumes = {{host_path = h.build, tag = "share0"}},
                      bridges = 2}:start()
    eq(vm:execute("query-status").status, "prelaunch")
    local devs = pci_devices(vm:execute("query-pci"))
    for _, id in ipairs{"rp0", "rp1"} do
      local rp = h.find(devs, function(d) return d.qdev_id == id end)
      eq(rp ~= nil, true, "root port " .. id .. " on pcie.0")
      eq(rp.class_info.class, 0x0604, id .. " is a PCI bridge")
    end
    -- virtio-blk (1af4:1001) and virtio-9p (1af4:1009), transitional
    -- virtio-pci devices on the root complex.
    local blk = h.find(devs, function(d) return d.id.vendor == 0x1af4 and d.id.device == 0x1001 end)
    eq(blk ~= nil, true, "virtio-blk-pci")
    local fs = h.find(devs, function(d) return d.id.vendor == 0x1af4 and d.id.device == 0x1009 end)
    eq(fs ~= nil, true, "virtio-9p-pci")
    eq(vm:kill().signal, 9)
    os.remove(img)
  end)
end)
