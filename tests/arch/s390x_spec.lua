-- s390x policy: pods in, argv out (expected arrays written by hand), and
-- qemu-system-s390x accepts what the policy builds.
local vc = require "vclaunch"
local h = dofile((os.getenv("VC_SOURCE_DIR") or ".") .. "/tests/arch/helpers.lua")

h.fresh_runtime_dir()

-- The head of a TCG pod with default vCPUs, memory and console, as the
-- minimal pod below spells it out, then extra.
local function head(name, extra)
  return h.head("qemu-system-s390x", name, "s390-ccw-virtio,accel=tcg", "max", extra)
end

describe("s390x", function()
  it("builds a minimal pod: s390-ccw-virtio, the SCLP console", function()
    local p = vc.pod{arch = "s390x", accel = "tcg", name = "s1",
                     kernel = {path = "/boot/vmlinuz", params = "x=1"}}
    h.argv_eq(p:argv(), {
      "qemu-system-s390x",
      "-name", "s1",
      "-machine", "s390-ccw-virtio,accel=tcg",
      "-cpu", "max",
      "-smp", "1,sockets=1,cores=1,threads=1,maxcpus=1",
      "-m", "512M",
      "-nodefaults", "-no-user-config", "-display", "none",
      "-action", "reboot=shutdown,panic=exit-failure",
      "-chardev", "stdio,id=console",
      "-serial", "chardev:console",
      "-kernel", "/boot/vmlinuz",
      "-append", "console=ttysclp0 quiet panic=-1 x=1",
    })
  end)

  it("uses the host CPU under KVM", function()
    local p = vc.pod{arch = "s390x", accel = "kvm", name = "s2", vcpus = 4, max_vcpus = 248}
    h.argv_eq(p:argv(), {
      "qemu-system-s390x",
      "-name", "s2",
      "-machine", "s390-ccw-virtio,accel=kvm",
      "-cpu", "host",
      "-smp", "4,sockets=248,cores=1,threads=1,maxcpus=248",
      "-m", "512M",
      "-nodefaults", "-no-user-config", "-display", "none",
      "-action", "reboot=shutdown,panic=exit-failure",
      "-chardev", "stdio,id=console",
      "-serial", "chardev:console",
    })
  end)

  it("puts every virtio device on ccw with the next devno", function()
    local p = vc.pod{arch = "s390x", accel = "tcg", name = "s3", image = "/img/root.img",
                     volumes = {{host_path = "/srv/share", tag = "share0"}},
                     sockets = {{name = "org.vclaunch.agent", path = "/run/agent.sock"}},
                     drives = {{file = "/img/data.img", format = "raw"}},
                     balloon = true}
    h.argv_eq(p:argv(), head("s3", {
      "-drive", "if=none,id=image0,file=/img/root.img,format=raw,readonly=on",
      "-device", "virtio-blk-ccw,drive=image0,devno=fe.0.0001,id=image0-dev",
      "-fsdev", "local,id=fs0,path=/srv/share,security_model=none,multidevs=remap",
      "-device", "virtio-9p-ccw,fsdev=fs0,mount_tag=share0,devno=fe.0.0002",
      "-device", "virtio-serial-ccw,id=vserial0,devno=fe.0.0003",
      "-chardev", "socket,id=channel0,path=/run/agent.sock,server=on,wait=off",
      "-device", "virtserialport,chardev=channel0,id=port0,name=org.vclaunch.agent," ..
                 "bus=vserial0.0",
      "-drive", "if=none,id=drive0,file=/img/data.img,format=raw",
      "-device", "virtio-blk-ccw,drive=drive0,devno=fe.0.0004,id=drive0-dev",
      "-device", "virtio-balloon-ccw,id=balloon0,devno=fe.0.0005",
    }))
  end)

  it("passes host devices through as vfio-ccw subchannels with a devno", function()
    local p = vc.pod{arch = "s390x", accel = "tcg", name = "s4",
                     vfio = {{sysfsdev = "/sys/bus/mdev/devices/a1b2"}}, balloon = true}
    h.argv_eq(p:argv(), head("s4", {
      "-device", "vfio-ccw,sysfsdev=/sys/bus/mdev/devices/a1b2,devno=fe.0.0001,id=vfio0",
      "-device", "virtio-balloon-ccw,id=balloon0,devno=fe.0.0002",
    }))
  end)

  it("refuses rng, bridges, max_memory and more than 248 vCPUs, naming s390x", function()
    local msg = h.pod_error{arch = "s390x", accel = "tcg", rng = true}
    eq(msg:find("rng: s390x has no virtio-rng", 1, true) ~= nil, true, msg)
    msg = h.pod_error{arch = "s390x", accel = "tcg", bridges = 1}
    eq(msg:find("bridges: machine s390-ccw-virtio has no hotplug bridges", 1, true) ~= nil,
       true, msg)
    msg = h.pod_error{arch = "s390x", accel = "tcg", max_memory = 1024}
    eq(msg:find("max_memory: s390x has no memory hotplug", 1, true) ~= nil, true, msg)
    msg = h.pod_error{arch = "s390x", accel = "tcg", max_vcpus = 249}
    eq(msg:find("max_vcpus (249) is above s390x's limit (248)", 1, true) ~= nil, true, msg)
  end)

  it("starts the example pod in qemu-system-s390x: ccw devices, SCLP console", function()
    local ex, p = h.example("s390x", {accel = "tcg", freeze = true,
                                      volumes = {{host_path = h.build, tag = "share0"}}})
    eq(ex:argv()[1], "qemu-system-s390x", "the example's binary")
    local vm = p:start()
    eq(vm:execute("query-status").status, "prelaunch")
    -- The devices with ids, and the numbers the guest sees them at.
    local want = {vserial0 = {"virtio-serial-ccw", "fe.0.0002"},
                  balloon0 = {"virtio-balloon-ccw", "fe.0.0003"}}
    local listed = vm:execute("qom-list", {path = "/machine/peripheral"})
    for id, w in pairs(want) do
      local e = h.find(listed, function(x) return x.name == id end)
      eq(e and e.type, "child<" .. w[1] .. ">", id)
      eq(vm:execute("qom-get", {path = "/machine/peripheral/" .. id, property = "devno"}),
         w[2], id .. " devno")
    end
    -- The 9p share (no id of its own) got the first number.
    local fs = h.find(vm:execute("qom-list", {path = "/machine/peripheral-anon"}),
                      function(x) return x.type == "child<virtio-9p-ccw>" end)
    eq(fs ~= nil, true, "virtio-9p-ccw")
    eq(vm:execute("qom-get", {path = "/machine/peripheral-anon/" .. fs.name,
                              property = "devno"}), "fe.0.0001")
    -- The console: -serial became the SCLP console on the stdio chardev.
    local sclp = h.find(vm:execute("qom-list", {path = "/machine/unattached"}),
                        function(x) return x.type == "child<sclpconsole>" end)
    eq(sclp ~= nil, true, "sclpconsole")
    eq(vm:execute("qom-get", {path = "/machine/unattached/" .. sclp.name,
                              property = "chardev"}), "console")
    local chardev = h.find(vm:execute("query-chardev"), function(x) return x.label == "console" end)
    eq(chardev and chardev.filename, "stdio")
    eq(vm:kill().signal, 9)
  end)
end)
