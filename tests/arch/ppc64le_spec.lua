-- ppc64le policy: pods in, argv out (expected arrays written by hand), and
-- qemu-system-ppc64 accepts what the policy builds.
local vc = require "vclaunch"
local h = dofile((os.getenv("VC_SOURCE_DIR") or ".") .. "/tests/arch/helpers.lua")

h.fresh_runtime_dir()

describe("ppc64le", function()
  it("builds a minimal pod: pseries, POWER9, no TCG-less mitigations, hvc0", function()
    local p = vc.pod{arch = "ppc64le", accel = "tcg", name = "p1",
                     kernel = {path = "/boot/vmlinux", params = "x=1"}}
    h.argv_eq(p:argv(), {
      "qemu-system-ppc64",
      "-name", "p1",
      "-machine", "pseries,accel=tcg,usb=off,cap-cfpc=broken,cap-sbbc=broken,cap-ibs=broken," ..
                  "cap-ccf-assist=off",
      "-cpu", "power9",
      "-smp", "1,sockets=1,cores=1,threads=1,maxcpus=1",
      "-m", "512M",
      "-nodefaults", "-no-user-config", "-display", "none",
      "-action", "reboot=shutdown,panic=exit-failure",
      "-chardev", "stdio,id=console",
      "-serial", "chardev:console",
      "-kernel", "/boot/vmlinux",
      "-append", "console=hvc0 quiet panic=-1 x=1",
    })
  end)

  it("leaves the capabilities to QEMU and uses the host CPU under KVM", function()
    local p = vc.pod{arch = "ppc64le", accel = "kvm", name = "p2", vcpus = 2, max_vcpus = 128}
    h.argv_eq(p:argv(), {
      "qemu-system-ppc64",
      "-name", "p2",
      "-machine", "pseries,accel=kvm,usb=off",
      "-cpu", "host",
      "-smp", "2,sockets=128,cores=1,threads=1,maxcpus=128",
      "-m", "512M",
      "-nodefaults", "-no-user-config", "-display", "none",
      "-action", "reboot=shutdown,panic=exit-failure",
      "-chardev", "stdio,id=console",
      "-serial", "chardev:console",
    })
  end)

  it("rounds maxmem up to 256 MiB, bridges are pci-bridges on pci.0", function()
    local p = vc.pod{arch = "ppc64le", accel = "tcg", name = "p3", memory = 768,
                     max_memory = 1025, memory_slots = 4, image = "/img/root.img",
                     rng = true, bridges = 2}
    h.argv_eq(p:argv(), {
      "qemu-system-ppc64",
      "-name", "p3",
      "-machine", "pseries,accel=tcg,usb=off,cap-cfpc=broken,cap-sbbc=broken,cap-ibs=broken," ..
                  "cap-ccf-assist=off",
      "-cpu", "power9",
      "-smp", "1,sockets=1,cores=1,threads=1,maxcpus=1",
      "-m", "768M,slots=4,maxmem=1280M",
      "-nodefaults", "-no-user-config", "-display", "none",
      "-action", "reboot=shutdown,panic=exit-failure",
      "-chardev", "stdio,id=console",
      "-serial", "chardev:console",
      "-drive", "if=none,id=image0,file=/img/root.img,format=raw,readonly=on",
      "-device", "virtio-blk-pci,drive=image0,id=image0-dev",
      "-object", "rng-random,id=rng0,filename=/dev/urandom",
      "-device", "virtio-rng-pci,rng=rng0",
      "-device", "pci-bridge,id=pci-bridge0,bus=pci.0,chassis_nr=1,shpc=on",
      "-device", "pci-bridge,id=pci-bridge1,bus=pci.0,chassis_nr=2,shpc=on",
    })
  end)

  it("refuses boot memory off the 256 MiB grid, more than 128 vCPUs, pvpanic", function()
    local msg = h.pod_error{arch = "ppc64le", accel = "tcg", memory = 300}
    eq(msg:find("memory: 300 MiB is not a multiple of 256 MiB", 1, true) ~= nil, true, msg)
    msg = h.pod_error{arch = "ppc64le", accel = "tcg", max_vcpus = 129}
    eq(msg:find("max_vcpus (129) is above ppc64le's limit (128)", 1, true) ~= nil, true, msg)
    msg = h.pod_error{arch = "ppc64le", accel = "tcg", pvpanic = true}
    eq(msg:find("pvpanic: not available on ppc64le machine pseries", 1, true) ~= nil, true, msg)
  end)

  it("starts the example pod in qemu-system-ppc64 with its bridges and devices", function()
    local ex, p = h.example("ppc64le", {accel = "tcg", freeze = true})
    eq(ex:argv()[1], "qemu-system-ppc64", "the example's binary")
    local argv = p:argv()
    eq(table.concat(argv, " "):find("-m 512M,slots=1,maxmem=2048M", 1, true) ~= nil, true,
       "maxmem rounded up")
    local vm = p:start()
    eq(vm:execute("query-status").status, "prelaunch")
    local devs = {}
    for _, bus in ipairs(vm:execute("query-pci")) do
      for _, d in ipairs(bus.devices) do devs[#devs + 1] = d end
    end
    for _, id in ipairs{"pci-bridge0", "pci-bridge1"} do
      local b = h.find(devs, function(d) return d.qdev_id == id end)
      eq(b ~= nil, true, id .. " on pci.0")
      eq(b.class_info.class, 0x0604, id .. " is a PCI bridge")
      eq(b.pci_bridge.bus.secondary > 0, true, id .. " has a secondary bus")
    end
    -- virtio-rng (1af4:1005) and virtio-balloon (1af4:1002), transitional.
    eq(h.find(devs, function(d) return d.id.vendor == 0x1af4 and d.id.device == 0x1005 end) ~= nil,
       true, "virtio-rng-pci")
    eq(h.find(devs, function(d) return d.qdev_id == "balloon0" end).id.device, 0x1002,
       "virtio-balloon-pci")
    -- The console: -serial became the sPAPR VTY the guest sees as hvc0.
    local vty = h.find(vm:execute("qom-list", {path = "/machine/unattached"}),
                       function(e) return e.type == "child<spapr-vty>" end)
    eq(vty ~= nil, true, "spapr-vty")
    eq(vm:execute("qom-get", {path = "/machine/unattached/" .. vty.name,
                              property = "chardev"}), "console")
    eq(vm:kill().signal, 9)
  end)
end)
