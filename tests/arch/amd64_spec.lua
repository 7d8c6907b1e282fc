-- amd64 policy: pods in, argv out (expected arrays written by hand), and
-- QEMU 7.2 accepting what the policy builds (started frozen under TCG and
-- asked over QMP what it made).
local vc = require "vclaunch"
local core = require "vclaunch.core"
local h = dofile((os.getenv("VC_SOURCE_DIR") or ".") .. "/tests/arch/helpers.lua")

-- KVM guests hang on this host: every pod here runs under TCG.
vc.options.accel = "tcg"

local guest = h.guest
local function have_guest()
  local f = guest and io.open(guest .. "/vmlinuz", "r")
  if f then f:close() return true end
  return false
end

local same = h.argv_eq

-- The goldens list the devices their pods ask for: the panic device every
-- pod gets by default is left out (pvpanic = false) unless a case names
-- pvpanic; "the panic policy" checks the default.
local function argv(t)
  t.accel = t.accel or "tcg"
  -- the hot-plug ports q35 makes by default have a case of their own
  if t.hotplug_ports == nil then t.hotplug_ports = 0 end
  if t.pvpanic == nil then t.pvpanic = false end
  return vc.pod(t):argv()
end

-- The head every q35 pod with defaults starts with, up to the console.
local function head(name, machine, extra)
  return h.head("qemu-system-x86_64", name, machine, "max", extra)
end

local function names(list, key)
  local t = {}
  for _, x in ipairs(list) do t[x[key]] = x end
  return t
end

describe("amd64 argv", function()
  it("minimal pod", function()
    same(argv{name = "min"}, head("min", "q35,accel=tcg"))
  end)

  it("q35 makes pod.hotplug_ports pcie-root-ports for hot-plug, 2 by default; pc none", function()
    local function line(t)
      t.accel, t.pvpanic = "tcg", false
      return table.concat(vc.pod(t):argv(), " ")
    end
    local port = "-device pcie-root-port,id=rp%d,bus=pcie.0,chassis=%d,slot=%d"
    local a = line{name = "hp"}
    eq(a:sub(-#(port:format(0, 1, 1) .. " " .. port:format(1, 2, 2))),
       port:format(0, 1, 1) .. " " .. port:format(1, 2, 2), a)
    eq(a:find("rp2", 1, true), nil, a)
    a = line{name = "hp", hotplug_ports = 3}
    eq(a:find(port:format(2, 3, 3), 1, true) ~= nil, true, a)
    -- bridges are root ports on q35 too: then no default ports
    a = line{name = "hp", bridges = 1}
    eq(a:find("rp1", 1, true), nil, a)
    eq(line{name = "hp", machine = "pc"}:find("pcie-root-port", 1, true), nil)
    local e = expect_error(vc.pod, {name = "hp", machine = "pc", hotplug_ports = 1})
    eq(e.message:match("hotplug_ports: machine pc has no PCIe root ports; it hot%-plugs into " ..
                       "pci%-bridge slots %(pod%.bridges = N%)") ~= nil, true, e.message)
  end)

  it("the panic policy: QEMU exits on a panic and a reboot, pvpanic by default", function()
    local function pod_argv(t)
      t.accel, t.hotplug_ports = "tcg", 0
      return vc.pod(t):argv()
    end
    for _, machine in ipairs{"q35", "pc", "microvm"} do
      same(pod_argv{name = "p", machine = machine},
           head("p", machine .. ",accel=tcg", {"-device", "pvpanic,id=pvpanic0"}))
    end
    -- reboot = true: QEMU resets the machine; the panic still ends it
    local a = table.concat(pod_argv{name = "p", reboot = true}, " ")
    eq(a:find("-action panic=exit-failure -chardev", 1, true) ~= nil, true, a)
    local e = expect_error(vc.pod, {reboot = true, knobs = {no_reboot = true}})
    eq(e.message, "pod: reboot = true contradicts no_reboot")
  end)

  it("full q35 pod", function()
    same(argv{
      name = "full", uuid = "8dc0fb8a-8e3a-4d4d-9d55-1b9d6c2c6f01", vcpus = 2, max_vcpus = 4,
      memory = 256, max_memory = 1024, memory_slots = 2,
      kernel = {path = "/boot/vmlinuz", initrd = "/boot/initrd", params = "x=1", debug = true},
      image = "/img/rootfs.img",
      volumes = {{host_path = "/srv/share", tag = "share0", readonly = true}},
      sockets = {{name = "org.vc.agent", path = "/run/agent.sock"}},
      endpoints = {{type = "user", mac = "52:54:00:12:34:56"}},
      drives = {{file = "/d.qcow2", format = "qcow2", serial = "d1", aio = "threads"},
                {file = "/s.img", interface = "scsi", format = "raw"}},
      rng = true, balloon = {deflate_on_oom = true}, iommu = true, pvpanic = true,
      bridges = 2, knobs = {no_reboot = true},
      devices = {{"rtc", {base = "utc"}}},
      extra_args = {"-device", "virtio-keyboard-pci,id=kbd"},
    }, {
      "qemu-system-x86_64", "-name", "full", "-uuid", "8dc0fb8a-8e3a-4d4d-9d55-1b9d6c2c6f01",
      "-machine", "q35,accel=tcg", "-cpu", "max",
      "-smp", "2,sockets=4,cores=1,threads=1,maxcpus=4", "-m", "256M,slots=2,maxmem=1024M",
      "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
      "-action", "reboot=shutdown,panic=exit-failure",
      "-chardev", "stdio,id=console", "-serial", "chardev:console",
      "-kernel", "/boot/vmlinuz", "-initrd", "/boot/initrd",
      "-append", "console=ttyS0 debug panic=-1 x=1",
      "-device", "intel-iommu,id=iommu0",
      "-drive", "if=none,id=image0,file=/img/rootfs.img,format=raw,readonly=on",
      "-device", "virtio-blk-pci,drive=image0,id=image0-dev",
      "-fsdev", "local,id=fs0,path=/srv/share,security_model=none,multidevs=remap,readonly=on",
      "-device", "virtio-9p-pci,fsdev=fs0,mount_tag=share0",
      "-device", "virtio-serial-pci,id=vserial0",
      "-chardev", "socket,id=channel0,path=/run/agent.sock,server=on,wait=off",
      "-device", "virtserialport,chardev=channel0,id=port0,name=org.vc.agent,bus=vserial0.0",
      "-netdev", "user,id=net0", "-device", "virtio-net-pci,netdev=net0,mac=52:54:00:12:34:56,id=net0-dev",
      "-drive", "if=none,id=drive0,file=/d.qcow2,format=qcow2,aio=threads",
      "-device", "virtio-blk-pci,drive=drive0,serial=d1,id=drive0-dev",
      "-device", "virtio-scsi-pci,id=scsi0",
      "-drive", "if=none,id=drive1,file=/s.img,format=raw",
      "-device", "scsi-hd,drive=drive1,bus=scsi0.0,id=drive1-dev",
      "-object", "rng-random,id=rng0,filename=/dev/urandom", "-device", "virtio-rng-pci,rng=rng0",
      "-device", "virtio-balloon-pci,id=balloon0,deflate-on-oom=on",
      "-device", "pvpanic,id=pvpanic0",
      "-device", "pcie-root-port,id=rp0,bus=pcie.0,chassis=1,slot=1",
      "-device", "pcie-root-port,id=rp1,bus=pcie.0,chassis=2,slot=2",
      "-rtc", "base=utc",
      "-device", "virtio-keyboard-pci,id=kbd",
    })
  end)

  it("microvm pod: virtio-mmio devices, no bridges", function()
    same(argv{name = "micro", machine = "microvm", image = "/rootfs.img", rng = true,
              balloon = true, endpoints = {{type = "user", mac = "52:54:00:00:00:0a"}},
              sockets = {{name = "org.vc.log", backend = "file", path = "/tmp/port.log"}},
              volumes = {{host_path = "/srv", tag = "s"}}},
         head("micro", "microvm,accel=tcg", {
           "-drive", "if=none,id=image0,file=/rootfs.img,format=raw,readonly=on",
           "-device", "virtio-blk-device,drive=image0,id=image0-dev",
           "-fsdev", "local,id=fs0,path=/srv,security_model=none,multidevs=remap",
           "-device", "virtio-9p-device,fsdev=fs0,mount_tag=s",
           "-device", "virtio-serial-device,id=vserial0",
           "-chardev", "file,id=channel0,path=/tmp/port.log",
           "-device", "virtserialport,chardev=channel0,id=port0,name=org.vc.log,bus=vserial0.0",
           "-netdev", "user,id=net0",
           "-device", "virtio-net-device,netdev=net0,mac=52:54:00:00:00:0a,id=net0-dev",
           "-object", "rng-random,id=rng0,filename=/dev/urandom",
           "-device", "virtio-rng-device,rng=rng0",
           "-device", "virtio-balloon-device,id=balloon0",
         }))
    local e = expect_error(vc.pod, {machine = "microvm", bridges = 1})
    eq(e.message:match("pod: bridges: machine microvm has no hotplug bridges$") ~= nil, true,
       e.message)
    e = expect_error(vc.pod, {machine = "microvm", iommu = true})
    eq(e.message:match("pod: iommu: not available on amd64 machine microvm$") ~= nil, true,
       e.message)
  end)

  it("pc pod: pci-bridges with chassis numbers", function()
    same(argv{name = "pc", machine = "pc", bridges = 3},
         head("pc", "pc,accel=tcg", {
           "-device", "pci-bridge,id=pci-bridge0,bus=pci.0,chassis_nr=1,shpc=on",
           "-device", "pci-bridge,id=pci-bridge1,bus=pci.0,chassis_nr=2,shpc=on",
           "-device", "pci-bridge,id=pci-bridge2,bus=pci.0,chassis_nr=3,shpc=on",
         }))
  end)

  it("kvm: the host CPU, split irqchip for the IOMMU", function()
    same(argv{name = "k", accel = "kvm", iommu = true},
         {"qemu-system-x86_64", "-name", "k", "-machine", "q35,accel=kvm,kernel-irqchip=split",
          "-cpu", "host", "-smp", "1,sockets=1,cores=1,threads=1,maxcpus=1", "-m", "512M",
          "-nodefaults", "-no-user-config", "-display", "none",
          "-action", "reboot=shutdown,panic=exit-failure",
          "-chardev", "stdio,id=console", "-serial", "chardev:console",
          "-device", "intel-iommu,id=iommu0"})
  end)

  it("nesting checks: legacy virtio under kvm inside a VM, for the policy's devices only", function()
    local function pod_on(vmm, extra)
      local p = vc.arch("amd64"):extend{running_on_vmm = function() return vmm end}
      for k, v in pairs(extra or {}) do p = p:extend{[k] = v} end
      return argv{arch = p, name = "n", accel = "kvm", image = "/img", rng = true,
                  volumes = {{host_path = "/srv", tag = "s"}},
                  devices = {{"virtio-balloon", {id = "raw0"}}}}
    end
    local tail = {"-device", "virtio-blk-pci,drive=image0,disable-modern=on,id=image0-dev",
                  "-fsdev", "local,id=fs0,path=/srv,security_model=none,multidevs=remap",
                  "-device", "virtio-9p-pci,fsdev=fs0,mount_tag=s,disable-modern=on",
                  "-object", "rng-random,id=rng0,filename=/dev/urandom",
                  "-device", "virtio-rng-pci,rng=rng0",
                  "-device", "virtio-balloon-pci,id=raw0"}
    local got = pod_on(true)
    same({table.unpack(got, #got - #tail + 1)}, tail)
    eq(got[#got - #tail - 1], "-drive")
    -- not in a VM, or checks off: modern virtio
    for _, g in ipairs{pod_on(false), pod_on(true, {nesting_checks = false})} do
      eq(g[#g - #tail + 2], "virtio-blk-pci,drive=image0,id=image0-dev")
    end
    -- amd64 decides from the host facts vclaunch gathers
    local amd64 = vc.arch("amd64")
    eq(amd64:running_on_vmm{arch = "amd64", cpu_flags = {hypervisor = true, sse2 = true}}, true)
    eq(amd64:running_on_vmm{arch = "amd64", cpu_flags = {sse2 = true}}, false)
    eq(vc.arch("arm64"):running_on_vmm{arch = "arm64", cpu_flags = {hypervisor = true}}, false)
    eq(type(vc.host().cpu_flags), "table")
    -- under TCG nesting does not matter
    local p = vc.arch("amd64"):extend{running_on_vmm = function() return true end}
    local t = argv{arch = p, name = "n", image = "/img"}
    eq(t[#t], "virtio-blk-pci,drive=image0,id=image0-dev")
  end)

  it("NICs without a mac get one each, stable for the pod name and index", function()
    local function macs(name, n)
      local eps = {}
      for i = 1, n do eps[i] = {type = "user"} end
      local out = {}
      for _, a in ipairs(argv{name = name, endpoints = eps}) do
        out[#out + 1] = a:match("^virtio%-net%-pci,.*mac=(52:54:00:%x%x:%x%x:%x%x)")
      end
      return out
    end
    local a, b, again = macs("vm-a", 2), macs("vm-b", 2), macs("vm-a", 2)
    eq(#a, 2, "two NICs with a mac")
    eq(a[1] ~= a[2], true, "two NICs of one pod differ")
    eq(a[1] ~= b[1] and a[2] ~= b[2], true, "pods named apart differ")
    eq(a[1] .. a[2], again[1] .. again[2], "the same pod name gives the same macs")
    eq(a[1] ~= "52:54:00:12:34:56", true, "not QEMU's one default")
  end)

  it("tap endpoints: by name with queues, by fds with vhost", function()
    -- the recipe's fds 3 and 4 reach QEMU as 4 and 5 (3 is vclaunch's QMP socket)
    same(argv{name = "tap", endpoints = {
           {type = "tap", ifname = "tap0", queues = 2, mac = "52:54:00:00:00:01"},
           {type = "tap", fds = {3, 4}, vhost = true, id = "wan", mac = "52:54:00:00:00:02"}}},
         head("tap", "q35,accel=tcg", {
           "-netdev", "tap,id=net0,ifname=tap0,script=no,downscript=no,queues=2",
           "-device", "virtio-net-pci,netdev=net0,mac=52:54:00:00:00:01,mq=on,vectors=6,id=net0-dev",
           "-netdev", "tap,id=wan,fds=4:5,vhost=on",
           "-device", "virtio-net-pci,netdev=wan,mac=52:54:00:00:00:02,mq=on,vectors=6,id=wan-dev",
         }))
  end)

  it("vhost-user: net, blk, scsi, fs and a virtio-fs volume share memory", function()
    same(argv{name = "vu", memory = 256,
              endpoints = {{type = "vhost-user", socket = "/run/net.sock",
                            mac = "52:54:00:00:00:02"}},
              vhost_user = {{type = "blk", socket = "/run/blk.sock"},
                            {type = "scsi", socket = "/run/scsi.sock"},
                            {type = "fs", socket = "/run/fs.sock", tag = "fs0"}},
              volumes = {{type = "virtio-fs", host_path = "/srv", tag = "vol",
                          socket = "/run/virtiofsd.sock"}}},
         {"qemu-system-x86_64", "-name", "vu", "-machine", "q35,accel=tcg,memory-backend=mem0",
          "-cpu", "max", "-smp", "1,sockets=1,cores=1,threads=1,maxcpus=1", "-m", "256M",
          "-object", "memory-backend-memfd,id=mem0,size=256M,share=on",
          "-nodefaults", "-no-user-config", "-display", "none",
          "-action", "reboot=shutdown,panic=exit-failure",
          "-chardev", "stdio,id=console", "-serial", "chardev:console",
          "-chardev", "socket,id=vhost-user-fs0,path=/run/virtiofsd.sock",
          "-device", "vhost-user-fs-pci,chardev=vhost-user-fs0,tag=vol,queue-size=1024,id=vhost-user-fs0-dev",
          "-chardev", "socket,id=chr-net0,path=/run/net.sock",
          "-netdev", "vhost-user,id=net0,chardev=chr-net0,vhostforce=on",
          "-device", "virtio-net-pci,netdev=net0,mac=52:54:00:00:00:02,id=net0-dev",
          "-chardev", "socket,id=vhost-user-blk0,path=/run/blk.sock",
          "-device", "vhost-user-blk-pci,chardev=vhost-user-blk0,id=vhost-user-blk0-dev",
          "-chardev", "socket,id=vhost-user-scsi0,path=/run/scsi.sock",
          "-device", "vhost-user-scsi-pci,chardev=vhost-user-scsi0,id=vhost-user-scsi0-dev",
          "-chardev", "socket,id=vhost-user-fs1,path=/run/fs.sock",
          "-device", "vhost-user-fs-pci,chardev=vhost-user-fs1,tag=fs0,queue-size=1024,id=vhost-user-fs1-dev"})
  end)

  it("vfio, vsock, rng with limits, balloon with free page reporting", function()
    -- the recipe's vhostfd 5 reaches QEMU as 4
    same(argv{name = "hw", vfio = {{host = "0000:01:00.0"}}, vsock = {cid = 3, vhostfd = 5},
              rng = {filename = "/dev/random", max_bytes = 1024, period = 1000},
              balloon = {free_page_reporting = true}},
         head("hw", "q35,accel=tcg", {
           "-device", "vfio-pci,host=0000:01:00.0,id=vfio0",
           "-device", "vhost-vsock-pci,id=vsock0,guest-cid=3,vhostfd=4",
           "-object", "rng-random,id=rng0,filename=/dev/random",
           "-device", "virtio-rng-pci,rng=rng0,max-bytes=1024,period=1000",
           "-device", "virtio-balloon-pci,id=balloon0,free-page-reporting=on",
         }))
  end)

  it("knobs: hugepages and prealloc, mlock; firmware: bios, pflash", function()
    same(argv{name = "mem", memory = 1024, knobs = {hugepages = true, prealloc = true,
                                                     mlock = true},
              firmware = "/usr/share/seabios/bios.bin"},
         {"qemu-system-x86_64", "-name", "mem", "-machine", "q35,accel=tcg,memory-backend=mem0",
          "-cpu", "max", "-smp", "1,sockets=1,cores=1,threads=1,maxcpus=1", "-m", "1024M",
          "-object", "memory-backend-file,id=mem0,size=1024M,prealloc=on,mem-path=/dev/hugepages",
          "-overcommit", "mem-lock=on",
          "-nodefaults", "-no-user-config", "-display", "none",
          "-action", "reboot=shutdown,panic=exit-failure",
          "-bios", "/usr/share/seabios/bios.bin",
          "-chardev", "stdio,id=console", "-serial", "chardev:console"})
    same(argv{name = "fw", knobs = {prealloc = true},
              firmware = {"/ovmf/code.fd", "/ovmf/vars.fd"}},
         {"qemu-system-x86_64", "-name", "fw", "-machine", "q35,accel=tcg,memory-backend=mem0",
          "-cpu", "max", "-smp", "1,sockets=1,cores=1,threads=1,maxcpus=1", "-m", "512M",
          "-object", "memory-backend-ram,id=mem0,size=512M,prealloc=on",
          "-nodefaults", "-no-user-config", "-display", "none",
          "-action", "reboot=shutdown,panic=exit-failure",
          "-drive", "if=pflash,format=raw,unit=0,readonly=on,file=/ovmf/code.fd",
          "-drive", "if=pflash,format=raw,unit=1,file=/ovmf/vars.fd",
          "-chardev", "stdio,id=console", "-serial", "chardev:console"})
  end)

  it("the policy's ids stay unique next to the recipe's", function()
    local e = expect_error(vc.pod, {drives = {{file = "/a", format = "raw"}},
                                    devices = {{"iothread", {id = "drive0"}}}})
    eq(e.message:match("pod: duplicate id 'drive0': virtio%-blk %(pod.drives%[1%]%) and " ..
                       "iothread %(pod.devices%[1%]%)$") ~= nil, true, e.message)
  end)
end)

describe("amd64 guest clock", function()
  local amd64 = vc.arch("amd64")
  it("tells a microvm guest under TCG the host's TSC rate, and no other", function()
    local host = {tsc_khz = 2100000}
    same(amd64:clock_params({machine = "microvm"}, "tcg", host), {"tsc_early_khz=2100000"})
    same(amd64:clock_params({machine = "microvm"}, "kvm", host), {})
    same(amd64:clock_params({machine = "q35"}, "tcg", host), {})
    same(amd64:clock_params({machine = "pc"}, "tcg", host), {})
    same(amd64:clock_params({machine = "microvm"}, "tcg", {tsc_khz = false}), {})
  end)

  it("measures the host's rate once, and puts it before the pod's parameters", function()
    local khz = vc.host().tsc_khz
    -- this host is x86_64: it has a TSC (1 to 10 GHz), measured alike twice
    eq(math.type(khz), "integer", "host tsc_khz")
    eq(khz > 1000000 and khz < 10000000, true, "host tsc_khz " .. khz)
    local again = core.tsc_khz()
    eq(math.abs(again - khz) < khz / 100, true, ("measured %d, then %d"):format(khz, again))
    local a = argv{name = "m", machine = "microvm",
                   kernel = {path = "/boot/vmlinuz", params = "x=1 tsc_early_khz=1"}}
    local append
    for i = 1, #a do if a[i] == "-append" then append = a[i + 1] end end
    eq(append, "console=ttyS0 quiet panic=-1 tsc_early_khz=" .. khz .. " x=1 tsc_early_khz=1")
    a = argv{name = "q", kernel = {path = "/boot/vmlinuz"}}
    for i = 1, #a do if a[i] == "-append" then append = a[i + 1] end end
    eq(append, "console=ttyS0 quiet panic=-1")
  end)
end)

describe("amd64 in QEMU", function()
  it("accepts the kitchen sink, frozen, with every device in place", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(core.process{argv = {"mkdir", "-m", "700", dir}}:wait().code == 0)
    local pod = h.example_pod("kitchen-sink", {guest or "build/guest", dir})
    -- the guest fixture is required by this test (tests/CMakeLists.txt)
    if not have_guest() then error("no test guest in VC_GUEST_DIR (" .. tostring(guest) .. ")") end
    local vm = pod:start{freeze = true}
    local ok, err = pcall(function()
      eq(vm:status(), "prelaunch", "status")
      local ids = {}
      for _, bus in ipairs(vm:execute("query-pci")) do
        for _, d in ipairs(bus.devices) do
          if d.qdev_id ~= "" then ids[d.qdev_id] = d end
        end
      end
      for _, id in ipairs{"vserial0", "scsi0", "balloon0", "rp0", "rp1", "kbd0"} do
        eq(ids[id] ~= nil, true, "query-pci: " .. id)
      end
      eq(ids.rp0.class_info.desc, "PCI bridge", "rp0 class")
      local blocks = names(vm:execute("query-block"), "device")
      eq(blocks.image0.inserted.ro, true, "image0 read-only")
      eq(blocks.image0.inserted.file, dir .. "/kitchen-sink-rootfs.raw", "image0 file")
      eq(blocks.drive0.inserted.ro, false, "drive0 writable")
      eq(blocks.drive1.inserted.ro, true, "drive1 read-only")
      local chardevs = names(vm:execute("query-chardev"), "label")
      eq(chardevs.console.filename, "stdio", "console chardev")
      eq(chardevs.channel0.filename, "disconnected:unix:" .. dir ..
         "/kitchen-sink-agent.sock,server=on", "agent socket")
      eq(chardevs.channel1.filename, "file", "log port")
      local peripherals = names(vm:execute("qom-list", {path = "/machine/peripheral"}), "name")
      for _, id in ipairs{"iommu0", "pvpanic0", "port0", "port1"} do
        eq(peripherals[id] ~= nil, true, "peripheral " .. id)
      end
      local memdev = vm:execute("query-memdev")[1]
      eq(memdev.id, "mem0", "memdev id")
      eq(memdev.share, true, "memdev share")
      eq(memdev.prealloc, true, "memdev prealloc")
      eq(memdev.size, 256 * 1024 * 1024, "memdev size")
    end)
    vm:kill()
    for _, f in ipairs{"rootfs", "data", "scsi"} do
      os.remove(dir .. "/kitchen-sink-" .. f .. ".raw")
    end
    os.remove(dir .. "/kitchen-sink-port.log")
    os.remove(dir .. "/kitchen-sink-agent.sock")
    os.remove(dir)
    if not ok then error(err, 0) end
  end)

  it("accepts a pc pod with bridges and a microvm pod with virtio-mmio devices", function()
    local img = h.scratch(1024 * 1024)
    local vm = vc.pod{name = "pcb", machine = "pc", accel = "tcg", bridges = 2,
                      drives = {{file = img}}}:start{freeze = true}
    local ok, err = pcall(function()
      local ids = {}
      for _, d in ipairs(vm:execute("query-pci")[1].devices) do ids[d.qdev_id] = d end
      eq(ids["pci-bridge0"].class_info.desc, "PCI bridge", "pci-bridge0")
      eq(ids["pci-bridge1"].class_info.desc, "PCI bridge", "pci-bridge1")
      eq(ids["pci-bridge1"].pci_bridge ~= nil, true, "pci-bridge1 has a secondary bus")
    end)
    vm:kill()
    if not ok then os.remove(img) error(err, 0) end
    vm = vc.pod{name = "mvm", machine = "microvm", accel = "tcg", image = img, rng = true,
                balloon = true, endpoints = {{type = "user"}}}:start{freeze = true}
    ok, err = pcall(function()
      local blocks = names(vm:execute("query-block"), "device")
      eq(blocks.image0.inserted.ro, true, "image0 read-only")
      local qom = names(vm:execute("qom-list", {path = "/machine/peripheral"}), "name")
      eq(qom.balloon0.type, "child<virtio-balloon-device>", "balloon on mmio")
    end)
    vm:kill()
    os.remove(img)
    if not ok then error(err, 0) end
  end)

  it("accepts a tap endpoint opened by name", function()
    local ifname = ("vctap%d"):format(os.time() % 100000)
    local function ip(...)
      local p = core.process{argv = {"ip", ...}, on_line = function() end}
      local status = p:wait()
      p:close()
      return status.code == 0
    end
    -- the suite runs as root (setup.sh): a tap that cannot be made is a failure
    if not ip("tuntap", "add", "dev", ifname, "mode", "tap") then
      error("cannot create tap " .. ifname .. " (ip tuntap add needs root and /dev/net/tun)")
    end
    local ok, err = pcall(function()
      local pod = vc.pod{name = "tap", endpoints = {{type = "tap", ifname = ifname,
                                                     mac = "52:54:00:00:00:07"}}}
      local vm = pod:start{freeze = true}
      local okq, e = pcall(function()
        local info = vm:execute("human-monitor-command", {["command-line"] = "info network"})
        eq(info:find("net0: index=0,type=tap,ifname=" .. ifname, 1, true) ~= nil, true, info)
        eq(info:find("macaddr=52:54:00:00:00:07", 1, true) ~= nil, true, info)
      end)
      vm:kill()
      if not okq then error(e, 0) end
    end)
    ip("tuntap", "del", "dev", ifname, "mode", "tap")
    if not ok then error(err, 0) end
  end)

  it("accepts a virtio-fs volume on a running virtiofsd, with shared memory", function()
    local virtiofsd = "/usr/lib/qemu/virtiofsd"
    local f = io.open(virtiofsd, "r")
    if not f then error("no " .. virtiofsd .. " (setup.sh installs qemu-system-common)") end
    f:close()
    local dir = os.tmpname()
    os.remove(dir)
    assert(core.process{argv = {"mkdir", "-m", "700", dir}}:wait().code == 0)
    local sock = dir .. "/virtiofsd.sock"
    local listening = core.cond()
    local ready = false
    local daemon = core.process{argv = {virtiofsd, "--socket-path=" .. sock, "-o",
                                        "source=" .. dir, "-o", "cache=none"},
      on_line = function(_, line)
        if line:find("Waiting for vhost-user socket connection", 1, true) then
          ready = true
          listening:signal()
        end
      end}
    local ok, err = pcall(function()
      if not ready then listening:wait(30) end
      eq(ready, true, "virtiofsd listening")
      local pod = vc.pod{name = "vfs", memory = 256,
                         volumes = {{type = "virtio-fs", host_path = dir, tag = "vol",
                                     socket = sock}}}
      local vm = pod:start{freeze = true}
      local okq, e = pcall(function()
        -- the volume's device has an id of its own, so device_del can name it
        local qom = names(vm:execute("qom-list", {path = "/machine/peripheral"}), "name")
        eq(qom["vhost-user-fs0-dev"] and qom["vhost-user-fs0-dev"].type,
           "child<vhost-user-fs-pci>", "the volume's vhost-user-fs-pci device")
        local memdev = vm:execute("query-memdev")[1]
        eq(memdev.id, "mem0", "memdev id")
        eq(memdev.share, true, "guest memory shared with virtiofsd")
      end)
      vm:kill()
      if not okq then error(e, 0) end
    end)
    -- virtiofsd ends by itself once QEMU goes; if not, it is told to
    pcall(daemon.kill, daemon, 15)
    daemon:wait()
    daemon:close()
    os.remove(sock)
    os.remove(dir)
    if not ok then error(err, 0) end
  end)

  it("passes through host devices only where the host has them", function()
    -- Their argv is checked above; QEMU opens these at start, so they can
    -- only start on a host that has them.
    local needs = {
      {"vsock", "/dev/vhost-vsock", {vsock = {cid = 3}}},
      {"tap vhost=on", "/dev/vhost-net", nil},
      {"vfio", "/dev/vfio/vfio", nil},
    }
    for _, n in ipairs(needs) do
      local f = io.open(n[2], "r")
      if f then f:close() end
      if not f then
        print(("# skipped in QEMU: %s (no %s on this host)"):format(n[1], n[2]))
      elseif n[3] then
        n[3].name = "hw"
        local vm = vc.pod(n[3]):start{freeze = true}
        local ok, err = pcall(function()
          local ids = {}
          for _, d in ipairs(vm:execute("query-pci")[1].devices) do ids[d.qdev_id] = true end
          eq(ids.vsock0, true, "vsock0 on the PCI bus")
        end)
        vm:kill()
        if not ok then error(err, 0) end
      else
        print(("# skipped in QEMU: %s (needs a configured host device)"):format(n[1]))
      end
    end
  end)

  it("boots a microvm guest under TCG that keeps its TSC at the host's rate", function()
    -- the guest fixture is required by this test (tests/CMakeLists.txt)
    if not have_guest() then error("no test guest in VC_GUEST_DIR (" .. tostring(guest) .. ")") end
    local shell = dofile((os.getenv("VC_SOURCE_DIR") or ".") .. "/tests/lua/guest_shell.lua")
    local vm = shell.boot("tsc-micro", {machine = "microvm"})
    local ok, err = pcall(function()
      local cmdline = table.concat(shell.sh(vm, "cat /proc/cmdline"), " ")
      eq(cmdline:match("tsc_early_khz=(%d+)"), tostring(vc.host().tsc_khz), cmdline)
      same(shell.sh(vm, "cat /sys/devices/system/clocksource/clocksource0/current_clocksource"),
           {"tsc"})
    end)
    vm:kill()
    if not ok then error(err, 0) end
  end)

  it("boots the amd64 and microvm examples to power-off", function()
    -- the guest fixture is required by this test (tests/CMakeLists.txt)
    if not have_guest() then error("no test guest in VC_GUEST_DIR (" .. tostring(guest) .. ")") end
    for _, example in ipairs{"amd64", "microvm"} do
      local pod = h.example_pod(example, {guest})
      local vm = pod:start()
      local ok, err = pcall(function()
        vm.console:expect("VCLAUNCH%-GUEST%-POWEROFF", 120)
        eq(vm:wait().code, 0, "examples/" .. example .. ".lua exit status")
      end)
      if not ok then vm:kill() error(err, 0) end
    end
  end)
end)
