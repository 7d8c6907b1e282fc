-- vclaunch.pod: invalid pods and devices are refused with a message that
-- names the field (expected messages written by hand); vclaunch.arch and
-- policy overrides with extend.
local vc = require "vclaunch"

vc.options.accel = "tcg"

-- The error of vc.pod(t), raised at this file's line: returns its message
-- after checking that its position (e.where) is this file's.
local function pod_error(t)
  local ok, e = pcall(function()
    local p = vc.pod(t) -- not a tail call: the frame names this file
    return p
  end)
  if ok then error("expected an error, got a pod", 2) end
  eq(type(e), "table", "error object")
  eq(e.kind, "recipe", "error kind")
  if not tostring(e.where):match("pod_spec%.lua:%d+$") then
    error("the error does not point at this file: " .. tostring(e.where), 2)
  end
  eq(tostring(e), e.where .. ": " .. e.message, "tostring")
  return e.message
end

-- {pod fields, exact message} pairs.
local EXACT = {
  {{vcpuz = 2}, "pod: unknown field 'vcpuz' (did you mean 'vcpus'?)"},
  {{memroy = 256}, "pod: unknown field 'memroy' (did you mean 'memory'?)"},
  {{zzzzzzzz = 1}, "pod: unknown field 'zzzzzzzz'"},
  {{vcpus = "2"}, "pod: field 'vcpus' must be a number, got a string"},
  {{vcpus = 1.5}, "pod: field 'vcpus' must be an integer, got 1.5"},
  {{vcpus = 0}, "pod: field 'vcpus': 0 is below 1"},
  {{iommu = "yes"}, "pod: field 'iommu' must be a boolean, got a string"},
  {{kernel = "vmlinuz"}, "pod: field 'kernel' must be a table, got a string"},
  {{kernel = {initrd = "/i"}}, "pod.kernel: missing required field 'path'"},
  {{kernel = {path = "/k", parms = "x"}},
   "pod.kernel: unknown field 'parms' (did you mean 'params'?)"},
  {{kernel = {path = "/k\n"}}, "pod.kernel: field 'path': holds a control character (0x0a)"},
  {{image = "/a\nb"}, "pod: field 'image': holds a control character (0x0a)"},
  {{firmware = {"/code.fd", "/vars\n.fd"}},
   "pod.firmware[2]: holds a control character (0x0a)"},
  {{firmware = {"/code.fd", 1}}, "pod.firmware[2] must be a path (string), got 1"},
  {{accel = "xen"}, "pod: field 'accel': \"xen\" is not one of: kvm, tcg"},
  {{volumes = {{host_path = "/x\n", tag = "t"}}},
   "pod.volumes[1]: field 'host_path': holds a control character (0x0a)"},
  {{volumes = {{host_path = "/x", tag = "t", type = "nfs"}}},
   "pod.volumes[1]: field 'type': \"nfs\" is not one of: 9p, virtio-fs"},
  {{volumes = {{host_path = "/x"}}}, "pod.volumes[1]: missing required field 'tag'"},
  {{volumes = {{host_path = "/x", tga = "t"}}},
   "pod.volumes[1]: unknown field 'tga' (did you mean 'tag'?)"},
  {{volumes = {"/x"}}, "pod.volumes[1] must be a table, got a string"},
  {{volumes = {tag = "t"}}, "pod: field 'volumes' must be a list (keys 1..n), has key tag"},
  {{endpoints = {{type = "slirp"}}},
   "pod.endpoints[1]: field 'type': \"slirp\" is not one of: tap, user, vhost-user"},
  {{endpoints = {{mac = "52:54:00:00:00:01"}}}, "pod.endpoints[1]: missing required field 'type'"},
  {{endpoints = {{type = "tap"}}}, "pod.endpoints[1]: a tap needs exactly one of ifname and fds"},
  {{endpoints = {{type = "tap", ifname = "tap0", fds = {3}}}},
   "pod.endpoints[1]: a tap needs exactly one of ifname and fds"},
  {{endpoints = {{type = "vhost-user"}}},
   "pod.endpoints[1]: missing required field 'socket' (vhost-user)"},
  {{endpoints = {{type = "tap", fds = {3, "4"}}}},
   "pod.endpoints[1].fds[2] must be a number, got a string"},
  {{drives = {{file = "/d", interface = "ide"}}},
   "pod.drives[1]: field 'interface': \"ide\" is not one of: virtio, scsi"},
  {{drives = {{file = "/d", format = "vhd"}}},
   "pod.drives[1]: field 'format': \"vhd\" is not one of: raw, qcow2, qcow, vmdk, vdi, vhdx, " ..
   "vpc, qed, parallels"},
  {{drives = {{format = "raw"}}}, "pod.drives[1]: missing required field 'file'"},
  {{drives = {{file = "/a", id = "d", format = "raw"}, {file = "/b", id = "d", format = "raw"}}},
   "pod: duplicate id 'd': virtio-blk (pod.drives[1]) and virtio-blk (pod.drives[2])"},
  {{devices = {{"iothread", {id = "console"}}}},
   "pod: duplicate id 'console': chardev (the console) and iothread (pod.devices[1])"},
  {{devices = {{"iothread", {id = "qmp"}}}},
   "pod: duplicate id 'qmp': chardev (vclaunch's QMP monitor) and iothread (pod.devices[1])"},
  {{vsock = {cid = 2}}, "pod.vsock: field 'cid': 2 is out of range (3 to 4294967295)"},
  {{vsock = {cid = 4294967296}},
   "pod.vsock: field 'cid': 4294967296 is out of range (3 to 4294967295)"},
  {{vsock = {}}, "pod.vsock: missing required field 'cid'"},
  {{memory = 512, max_memory = 256}, "pod: max_memory is below memory"},
  {{max_memory = 256}, "pod: max_memory is below memory"},
  {{memory_slots = 2}, "pod: memory_slots needs max_memory"},
  {{machine = "microvm", max_memory = 1024},
   "pod: max_memory: machine microvm has no memory hotplug"},
  {{vcpus = 4, max_vcpus = 2}, "pod: vcpus (4) is above max_vcpus (2)"},
  {{vcpus = 241}, "pod: vcpus (241) is above amd64's limit (240)"},
  {{max_vcpus = 999}, "pod: max_vcpus (999) is above amd64's limit (240)"},
  {{extra_args = {"-m", "1G"}},
   "pod.extra_args[1]: '-m' conflicts with what vclaunch sets: pod.memory"},
  {{extra_args = {"-device", "virtio-rng-pci", "--machine", "pc"}},
   "pod.extra_args[3]: '--machine' conflicts with what vclaunch sets: pod.machine"},
  {{extra_args = {"-qmp", "unix:/x,server=on"}},
   "pod.extra_args[1]: '-qmp' conflicts with what vclaunch sets: vclaunch's QMP monitor"},
  {{extra_args = {"-pidfile", "/x"}},
   "pod.extra_args[1]: '-pidfile' conflicts with what vclaunch sets: vclaunch's pidfile"},
  {{extra_args = {"-S"}}, "pod.extra_args[1]: '-S' conflicts with what vclaunch sets: pod.freeze"},
  {{extra_args = {"-nodefaults"}},
   "pod.extra_args[1]: '-nodefaults' conflicts with what vclaunch sets: vclaunch's flags"},
  {{extra_args = {"-chardev", "socket,id=qmp,path=/x"}},
   "pod.extra_args[2]: id 'qmp' is already used by chardev (vclaunch's QMP monitor)"},
  {{extra_args = {"-chardev", "null,id=console"}},
   "pod.extra_args[2]: id 'console' is already used by chardev (the console)"},
  {{extra_args = {1}}, "pod.extra_args[1] must be a string, got 1"},
  {{arch = "sparc"}, "pod: unknown arch 'sparc'"},
  {{arch = "amd46"}, "pod: unknown arch 'amd46' (did you mean 'amd64'?)"},
  {{arch = "base"}, "pod: unknown arch 'base'"},
  {{arch = 42},
   "pod: field 'arch' must be an arch name or a policy from vclaunch.arch(), got 42"},
  {{arch = {binary = "qemu"}},
   "pod: field 'arch' must be an arch name or a policy from vclaunch.arch(), got a table"},
  {{machine = "pc99"}, "pod: machine 'pc99' is not one of amd64's: microvm, pc, q35"},
  {{rng = "yes"}, "pod: field 'rng' must be a boolean or a table, got a string"},
  {{rng = {max_bytes = 0}}, "pod.rng: field 'max_bytes': 0 is below 1"},
  {{rng = {backend = "egd"}}, "pod.rng: field 'backend': \"egd\" is not one of: random, builtin"},
  {{rng = {backend = "builtin", filename = "/dev/random"}},
   "pod.rng: filename goes with backend = \"random\""},
  {{balloon = {deflate_on_om = true}},
   "pod.balloon: unknown field 'deflate_on_om' (did you mean 'deflate_on_oom'?)"},
  {{knobs = {hugepage = true}}, "pod.knobs: unknown field 'hugepage' (did you mean 'hugepages'?)"},
  {{devices = {{"virtio-blc", {}}}},
   "unknown device kind 'virtio-blc' (did you mean 'virtio-blk'?)"},
  {{devices = {{"rtc", {bse = "utc"}}}}, "rtc: unknown field 'bse' (did you mean 'base'?)"},
  {{devices = {"rtc"}}, "pod.devices[1]: expected {kind, {fields}}"},
  {{devices = {{"chardev", {backend = "tcp"}}}},
   "chardev: field 'backend': \"tcp\" is not one of: socket, pipe, file, pty, null, stdio"},
  {{vfio = {{}}}, "pod.vfio[1]: needs exactly one of host and sysfsdev"},
  {{vfio = {{host = "01:00.0", sysfsdev = "/sys/bus/mdev/devices/x"}}},
   "pod.vfio[1]: needs exactly one of host and sysfsdev"},
  {{vhost_user = {{type = "fs", socket = "/s"}}},
   "pod.vhost_user[1]: missing required field 'tag' (fs)"},
  {{vhost_user = {{type = "net", socket = "/s"}}},
   "pod.vhost_user[1]: field 'type': \"net\" is not one of: blk, scsi, fs"},
  {{bridges = 31}, "pod: field 'bridges': 31 is out of range (0 to 30)"},
  {{machine = "microvm", bridges = 1}, "pod: bridges: machine microvm has no hotplug bridges"},
  {{machine = "pc", iommu = true}, "pod: iommu: not available on amd64 machine pc"},
  {{name = "1vm"}, "pod name '1vm' must start with a letter"},
  {{sockets = {{path = "/s"}}}, "pod.sockets[1]: missing required field 'name'"},
  {{sockets = {{name = "a", backend = "tcp"}}},
   "pod.sockets[1]: field 'backend': \"tcp\" is not one of: socket, pipe, file, pty, null, stdio"},

  -- device errors name the pod field the recipe wrote, not the kind's
  {{endpoints = {{type = "user", mac = "zz"}}},
   "pod.endpoints[1].mac: \"zz\" is not a MAC address like 52:54:00:12:34:56"},
  {{drives = {{file = "/a", id = "1d", format = "raw"}}}, "pod.drives[1].id: id '1d' must start with a letter"},
  {{vfio = {{host = "1:2"}}},
   "pod.vfio[1].host: \"1:2\" is not a PCI address [dddd:]bb:dd.f (0000:01:00.0)"},
  {{uuid = "x\ny"}, "pod.uuid: holds a control character (0x0a)"},
  {{volumes = {{host_path = "/x", tag = "a\nb"}}}, "pod.volumes[1].tag: holds a control character (0x0a)"},
  {{volumes = {{type = "virtio-fs", host_path = "/x", tag = "a\nb", socket = "/s"}}},
   "pod.volumes[1].tag: holds a control character (0x0a)"},
  {{volumes = {{host_path = "/x", tag = "t", id = "9fs"}}},
   "pod.volumes[1].id: id '9fs' must start with a letter"},
  {{kernel = {path = "/k", params = "a\nb"}}, "pod.kernel.params: holds a control character (0x0a)"},
  {{sockets = {{name = "a\tb", path = "/s"}}}, "pod.sockets[1].name: holds a control character (0x09)"},
  {{sockets = {{name = "a"}}}, "pod.sockets[1].path: is required with backend socket (or fd)"},
  {{vhost_user = {{type = "blk", socket = "/s", id = "1v"}}},
   "pod.vhost_user[1].id: id '1v' must start with a letter"},
  {{machine = "microvm", vhost_user = {{type = "blk", socket = "/s"}}},
   "pod.vhost_user[1]: QEMU has vhost-user-blk on the pci transport only, not mmio (machine microvm)"},

  -- what QEMU would refuse at start
  {{memory = math.maxinteger},
   "pod: memory (9223372036854775807 MiB) is above what a host can map (16777216 MiB, 16 TiB)"},
  {{max_memory = math.maxinteger},
   "pod: max_memory (9223372036854775807 MiB) is above what a host can map (16777216 MiB, 16 TiB)"},
  {{max_memory = 16 * 1024 * 1024 + 1},
   "pod: max_memory (16777217 MiB) is above what a host can map (16777216 MiB, 16 TiB)"},
  {{devices = {{"virtio-rng", {id = "r", transport = "ccw"}}}},
   "pod.devices[1]: virtio-rng 'r': field 'transport': machine q35 has no ccw transport (it has: pci)"},
  {{machine = "microvm", devices = {{"virtio-balloon", {id = "b"}}}},
   "pod.devices[1]: virtio-balloon 'b': field 'transport': machine microvm has no pci transport " ..
   "(it has: mmio)"},
  {{machine = "pc", devices = {{"virtio-blk", {id = "d", file = "/d", transport = "mmio"}}}},
   "pod.devices[1]: virtio-blk 'd': field 'transport': machine pc has no mmio transport (it has: pci)"},
  {{sockets = {{name = "a", backend = "stdio"}}},
   "pod.sockets[1].backend: \"stdio\" is taken by the console (chardev 'console'); " ..
   "QEMU gives stdio to one chardev"},
  {{devices = {{"chardev", {id = "c", backend = "stdio"}}}},
   "pod.devices[1]: chardev 'c': field 'backend': \"stdio\" is taken by the console " ..
   "(chardev 'console'); QEMU gives stdio to one chardev"},
  {{devices = {{"machine", {type = "pc"}}}},
   "pod.devices[1]: kind 'machine' conflicts with what vclaunch sets: pod.machine"},
  {{devices = {{"iothread", {id = "io0"}}, {"flags", {freeze = true}}}},
   "pod.devices[2]: kind 'flags' conflicts with what vclaunch sets: " ..
   "pod.freeze, pod.knobs and vclaunch's flags"},
  {{devices = {{"memory", {size = "1G"}}}},
   "pod.devices[1]: kind 'memory' conflicts with what vclaunch sets: pod.memory"},
  {{devices = {{"smp", {cpus = 2}}}},
   "pod.devices[1]: kind 'smp' conflicts with what vclaunch sets: pod.vcpus"},
  {{devices = {{"name", {name = "x"}}}},
   "pod.devices[1]: kind 'name' conflicts with what vclaunch sets: pod.name"},
  {{devices = {{"cpu", {model = "max"}}}},
   "pod.devices[1]: kind 'cpu' conflicts with what vclaunch sets: pod.cpu"},
  {{devices = {{"kernel", {path = "/k"}}}},
   "pod.devices[1]: kind 'kernel' conflicts with what vclaunch sets: pod.kernel"},
  {{devices = {{"uuid", {uuid = "8dc0fb8a-8e3a-4d4d-9d55-1b9d6c2c6f01"}}}},
   "pod.devices[1]: kind 'uuid' conflicts with what vclaunch sets: pod.uuid"},
  {{devices = {{"pidfile", {path = "/run/x.pid"}}}},
   "pod.devices[1]: kind 'pidfile' conflicts with what vclaunch sets: vclaunch's pidfile"},
  {{devices = {{"chardev", {id = "hmp", backend = "null"}}, {"mon", {chardev = "hmp"}}}},
   "pod.devices[2]: kind 'mon' conflicts with what vclaunch sets: vclaunch's QMP monitor"},
  {{devices = {{"bios", {path = "/bios.bin"}}}},
   "pod.devices[1]: kind 'bios' conflicts with what vclaunch sets: pod.firmware"},
  {{extra_args = {"-S\0"}}, "pod.extra_args[1]: holds a NUL byte"},
  -- a NUL byte in any text field, never cut short in C
  {{name = "vm\0x"}, "pod: field 'name': holds a NUL byte"},
  {{uuid = "8dc0fb8a-8e3a-4d4d-9d55-1b9d6c2c6f01\0"}, "pod: field 'uuid': holds a NUL byte"},
  {{drives = {{file = "/d", serial = "s\0x"}}}, "pod.drives[1]: field 'serial': holds a NUL byte"},
  {{volumes = {{host_path = "/x", tag = "t\0"}}}, "pod.volumes[1]: field 'tag': holds a NUL byte"},
  {{endpoints = {{type = "user", mac = "52:54:00:00:00:01\0"}}},
   "pod.endpoints[1]: field 'mac': holds a NUL byte"},
  {{kernel = {path = "/k", params = "quiet\0init=/bin/sh"}},
   "pod.kernel: field 'params': holds a NUL byte"},
  {{devices = {{"chardev", {id = "c1", backend = "file", path = "/p\0x"}}}},
   "chardev 'c1': field 'path': holds a NUL byte"},
  -- a suggestion comes from the same record, and only when close
  {{vcpu = 2}, "pod: unknown field 'vcpu' (did you mean 'vcpus'?)"},
  {{extra_args = {"-device", "virtio-rng-pci\0", "-S"}}, "pod.extra_args[2]: holds a NUL byte"},

  -- ids from the kinds' tables: what a device defines, across concepts and raw devices
  {{devices = {{"nvdimm", {id = "nv0", memdev = "pm", mem_path = "/pm0", size = "1M"}},
               {"nvdimm", {id = "nv1", memdev = "pm", mem_path = "/pm1", size = "1M"}}}},
   "pod: duplicate id 'pm': nvdimm (pod.devices[1]) and nvdimm (pod.devices[2])"},
  {{drives = {{file = "/a", format = "raw"}}, devices = {{"nvdimm", {id = "nv0", memdev = "drive0",
                                                     mem_path = "/pm", size = "1M"}}}},
   "pod: duplicate id 'drive0': virtio-blk (pod.drives[1]) and nvdimm (pod.devices[1])"},
  {{volumes = {{host_path = "/x", tag = "t", id = "n"}}, endpoints = {{type = "user", id = "n"}}},
   "pod: duplicate id 'n': virtio-9p (pod.volumes[1]) and virtio-net-user (pod.endpoints[1])"},
  {{endpoints = {{type = "vhost-user", socket = "/s", mac = "52:54:00:00:00:01"}},
    devices = {{"chardev", {id = "chr-net0", backend = "null"}}}},
   "pod: duplicate id 'chr-net0': vhost-user-net (pod.endpoints[1]) and chardev (pod.devices[1])"},
}

-- {pod fields, Lua pattern}: messages that quote the recipe's own file.
local PATTERN = {
  {{arch = vc.arch("amd64"):extend{cpu = function() return 1 < "x" end}},
   "^pod: the arch override 'cpu' failed: .*pod_spec%.lua:%d+: attempt to compare number with string$"},
  {{rng = true, arch = vc.arch("amd64"):extend{append_rng = function(_, _, r) return r.x.y end}},
   "^pod: the arch override 'append_rng' failed: .*pod_spec%.lua:%d+: attempt to index a boolean value"},
}

describe("vclaunch.pod refuses", function()
  for _, c in ipairs(EXACT) do
    it(c[2], function()
      eq(pod_error(c[1]), c[2])
    end)
  end
  for _, c in ipairs(PATTERN) do
    it(c[2], function()
      local msg = pod_error(c[1])
      eq(msg:match(c[2]) ~= nil, true, msg)
    end)
  end

  it("a non-table with a usage error", function()
    local e = expect_error(vc.pod, "demo")
    eq(e.kind, "usage")
    eq(e.message:match("vclaunch.pod: expected a table$") ~= nil, true, e.message)
  end)

  it("rng on s390x, naming the arch", function()
    eq(pod_error{arch = "s390x", rng = true}, "pod: rng: s390x has no virtio-rng")
  end)
end)

describe("vclaunch.arch", function()
  it("returns the policy module", function()
    eq(vc.arch("amd64"), require "vclaunch.arch.amd64")
    eq(vc.arch("amd64").binary, "qemu-system-x86_64")
    eq(vc.arch("amd64"):transport{machine = "microvm"}, "mmio")
    eq(vc.arch("amd64"):transport{machine = "q35"}, "pci")
  end)

  it("refuses unknown arches and non-names", function()
    local e = expect_error(vc.arch, "amd46")
    eq(e.kind, "recipe")
    eq(e.message:match("vclaunch.arch: unknown arch 'amd46' %(did you mean 'amd64'%?%)$") ~= nil,
       true, e.message)
    e = expect_error(vc.arch, "base")
    eq(e.message:match("vclaunch.arch: unknown arch 'base'$") ~= nil, true, e.message)
    e = expect_error(vc.arch, 64)
    eq(e.kind, "usage")
    eq(e.message:match("vclaunch.arch: expected an arch name, got 64$") ~= nil, true, e.message)
  end)

  it("extend: a CPU model and a vCPU limit, the arch file untouched", function()
    local p = vc.arch("amd64"):extend{
      cpu = function(_, _, _) return "qemu64" end,
      max_vcpus = 8,
    }
    local argv = vc.pod{arch = p, vcpus = 2}:argv()
    eq(argv[6], "-cpu")
    eq(argv[7], "qemu64")
    eq(pod_error{arch = p, vcpus = 9}, "pod: vcpus (9) is above amd64's limit (8)")
    eq(vc.arch("amd64").max_vcpus, 240, "amd64 limit")
    eq(vc.pod{vcpus = 9}:argv()[7], "max", "amd64 CPU model")
  end)

  it("extend: overrides reach each other through self, and chain", function()
    local p = vc.arch("amd64"):extend{console_param = "console=hvc0"}
    local q = p:extend{
      append_rng = function(self, ctx, r)
        local d = vc.arch("amd64").append_rng(self, ctx, r)
        d[1][2].filename = "/dev/random"
        return d
      end,
    }
    local argv = vc.pod{arch = q, kernel = {path = "/k"}, rng = true}:argv()
    local s = table.concat(argv, " ")
    eq(s:find("-append console=hvc0 quiet panic=-1", 1, true) ~= nil, true, s)
    eq(s:find("-object rng-random,id=rng0,filename=/dev/random", 1, true) ~= nil, true, s)
    -- p itself still uses base's rng
    s = table.concat(vc.pod{arch = p, rng = true}:argv(), " ")
    eq(s:find("filename=/dev/urandom", 1, true) ~= nil, true, s)
  end)

  it("extend: a capability turned off refuses what needs it", function()
    local p = vc.arch("amd64"):extend{
      capabilities = {block_hotplug = true, multiqueue = false, fs_sharing = false,
                      memory_hotplug = true},
    }
    eq(pod_error{arch = p, endpoints = {{type = "tap", ifname = "tap0", queues = 2}}},
       "pod.endpoints[1]: queues: amd64 has no multiqueue")
    eq(pod_error{arch = p, volumes = {{host_path = "/srv", tag = "s"}}},
       "pod: volumes: amd64 has no file system sharing")
  end)

  it("extend: an override that refuses the pod points at the recipe", function()
    local p = vc.arch("amd64"):extend{
      machine = function(self) self:fail("pod: machine: not on this host") end,
    }
    eq(pod_error{arch = p}, "pod: machine: not on this host")
  end)

  it("extend: a refusal in an appender override stays the policy's message", function()
    local p = vc.arch("amd64"):extend{
      append_rng = function(self) self:fail("pod: rng: not on this host") end,
    }
    eq(pod_error{arch = p, rng = true}, "pod: rng: not on this host")
  end)

  it("extend: an override's device on a transport the machine lacks names the concept", function()
    local p = vc.arch("amd64"):extend{
      append_rng = function() return {{"virtio-rng", {id = "rng0", transport = "ccw"}}} end,
    }
    eq(pod_error{arch = p, rng = true},
       "pod.rng: virtio-rng 'rng0': field 'transport': machine q35 has no ccw transport (it has: pci)")
  end)

  it("extend: a console off stdio leaves stdio to one socket", function()
    local p = vc.arch("amd64"):extend{
      console = function(_, _, id)
        return {{"chardev", {backend = "null", id = id}}, {"serial", {chardev = id}}}
      end,
    }
    local s = table.concat(vc.pod{arch = p, sockets = {{name = "a", backend = "stdio"}}}:argv(), " ")
    eq(s:find("-chardev stdio,id=channel0", 1, true) ~= nil, true, s)
    eq(pod_error{arch = p, sockets = {{name = "a", backend = "stdio"}, {name = "b", backend = "stdio"}}},
       "pod.sockets[2].backend: \"stdio\" is taken by pod.sockets[1]; QEMU gives stdio to one chardev")
    eq(pod_error{arch = p, sockets = {{name = "a", backend = "stdio"}},
                 devices = {{"chardev", {id = "c", backend = "stdio"}}}},
       "pod.devices[1]: chardev 'c': field 'backend': \"stdio\" is taken by pod.sockets[1]; " ..
       "QEMU gives stdio to one chardev")
  end)

  it("extend: needs a table", function()
    local ok, e = pcall(function() local p = vc.arch("amd64"):extend(5) return p end)
    eq(ok, false)
    eq(tostring(e):match("pod_spec%.lua:%d+: extend: expected a table of overrides, got a number$")
       ~= nil, true, tostring(e))
  end)
end)

describe("the default accelerator", function()
  it("is kvm only for the host's own arch and a /dev/kvm that opens", function()
    local saved = vc.options.accel
    vc.options.accel = nil
    local f = io.open("/dev/kvm", "r+")
    local kvm = f ~= nil
    if f then f:close() end
    local a = io.open("/proc/sys/kernel/arch")
    local host = a:read("l")
    a:close()
    local native = ({x86_64 = "amd64", aarch64 = "arm64", s390x = "s390x",
                     ppc64le = "ppc64le"})[host]
    for _, arch in ipairs{"amd64", "arm64", "ppc64le", "s390x"} do
      local want = (arch == native and kvm) and "kvm" or "tcg"
      eq(vc.pod{arch = arch, name = "a"}:accel(), want, arch .. " on " .. host)
    end
    -- the pod's own field and --accel win
    eq(vc.pod{arch = native or "amd64", accel = "tcg"}:accel(), "tcg")
    vc.options.accel = "tcg"
    eq(vc.pod{arch = native or "amd64"}:accel(), "tcg")
    vc.options.accel = saved
  end)
end)

describe("vfio", function()
  it("passes a PCI device by address or by its sysfs path", function()
    local a = vc.pod{vfio = {{host = "01:00.0"}, {sysfsdev = "/sys/bus/mdev/devices/m,1"}},
                     pvpanic = false, hotplug_ports = 0}:argv()
    eq(a[#a - 2], "vfio-pci,host=01:00.0,id=vfio0")
    eq(a[#a], "vfio-pci,sysfsdev=/sys/bus/mdev/devices/m,,1,id=vfio1")
  end)
end)

describe("hotplug_vhost_user", function()
  it("shares the guest memory from the start, as knobs.shared_memory does", function()
    local function machine_and_backend(t)
      local a = vc.pod(t):argv()
      local machine, backend
      for i, x in ipairs(a) do
        if x == "-machine" then machine = a[i + 1] end
        if x == "-object" and a[i + 1]:match("^memory%-backend") then backend = a[i + 1] end
      end
      return machine, backend
    end
    local m, b = machine_and_backend{memory = 256, hotplug_vhost_user = true}
    eq(b, "memory-backend-memfd,id=mem0,size=256M,share=on", "the backend")
    eq(m:find("memory-backend=mem0", 1, true) ~= nil, true, m)
    local m2, b2 = machine_and_backend{memory = 256, knobs = {shared_memory = true}}
    eq(b2, b, "the same backend as knobs.shared_memory")
    eq(m2, m, "the same -machine")
    eq(select(2, machine_and_backend{memory = 256, hotplug_vhost_user = false}), nil, "false: none")
    local e = expect_error(vc.pod, {hotplug_vhost_user = "yes"})
    eq(e.message:find("hotplug_vhost_user", 1, true) ~= nil, true, e.message)
  end)
end)

describe("endpoints", function()
  it("a vhost-user endpoint without a mac gets one per pod name and index", function()
    local function mac(name, endpoints)
      local a = vc.pod{name = name, endpoints = endpoints}:argv()
      local macs = {}
      for m in table.concat(a, " "):gmatch("virtio%-net%-pci,netdev=[%w-]+,mac=([%x:]+)") do
        macs[#macs + 1] = m
      end
      return macs
    end
    local vu = {type = "vhost-user", socket = "/run/net.sock"}
    local one = mac("a", {vu})
    eq(#one, 1, "one NIC with a mac")
    eq(one[1]:match("^52:54:00:%x%x:%x%x:%x%x$") ~= nil, true, one[1])
    eq(mac("a", {vu})[1], one[1], "the same pod gets the same mac")
    eq(mac("b", {vu})[1] ~= one[1], true, "another pod, another mac")
    local two = mac("a", {{type = "user", mac = "52:54:00:00:00:01"}, vu})
    eq(two[2] ~= one[1] and two[2] ~= two[1], true, "the second endpoint, another mac")
    eq(mac("a", {{type = "vhost-user", socket = "/s", mac = "52:54:00:00:00:09"}})[1],
       "52:54:00:00:00:09", "the recipe's own mac")
  end)
end)

describe("raw devices", function()
  it("may use every transport the machine has", function()
    local function last(t) local a = vc.pod(t):argv() return a[#a] end
    eq(last{arch = "s390x", devices = {{"virtio-rng", {id = "r", transport = "pci"}}}},
       "virtio-rng-pci,rng=r")
    eq(last{arch = "arm64", devices = {{"virtio-rng", {id = "r", transport = "mmio"}}}},
       "virtio-rng-device,rng=r")
    eq(last{machine = "microvm", devices = {{"virtio-rng", {id = "r", transport = "mmio"}}}},
       "virtio-rng-device,rng=r")
  end)

  it("define the ids their kind says: an integer written as text is none", function()
    local a = vc.pod{devices = {
      {"vfio-pci", {id = "a", host = "01:00.0", x_pci_vendor_id = "4318"}},
      {"vfio-pci", {id = "b", host = "02:00.0", x_pci_vendor_id = "4318"}},
    }}:argv()
    eq(a[#a], "vfio-pci,host=02:00.0,x-pci-vendor-id=4318,id=b")
  end)
end)

describe("concepts for hotplug", function()
  local concepts = require "vclaunch.concepts"

  -- The error of fn(...), checked to point at this file; returns its message.
  local function item_error(fn, ...)
    local args = table.pack(...)
    local ok, e = pcall(function()
      local r = fn(table.unpack(args, 1, args.n)) -- not a tail call
      return r
    end)
    if ok then error("expected an error", 2) end
    eq(e.kind, "recipe", tostring(e))
    eq(tostring(e.where):match("pod_spec%.lua:%d+$") ~= nil, true, tostring(e.where))
    return e.message
  end

  it("check an item as vclaunch.pod checks the pod's own", function()
    local pod = vc.pod{name = "hp", drives = {{file = "/a", format = "raw"}}}
    concepts.check_item("drives", {file = "/b", format = "raw"}, pod)
    eq(item_error(concepts.check_item, "drives", {file = "/b", interface = "ide"}, pod),
       "pod.drives[2]: field 'interface': \"ide\" is not one of: virtio, scsi")
    eq(item_error(concepts.check_item, "endpoints", {type = "tap"}, pod),
       "pod.endpoints[1]: a tap needs exactly one of ifname and fds")
    eq(item_error(concepts.check_item, "sockets", {name = "s", backend = "stdio"}, pod),
       "pod.sockets[1].backend: \"stdio\" is taken by the console (chardev 'console'); " ..
       "QEMU gives stdio to one chardev")
    eq(item_error(concepts.check_item, "devices", {"flags", {freeze = true}}, pod),
       "pod.devices[1]: kind 'flags' conflicts with what vclaunch sets: " ..
       "pod.freeze, pod.knobs and vclaunch's flags")
    local s390 = vc.pod{arch = "s390x"}
    eq(item_error(concepts.check_item, "rng", true, s390), "pod: rng: s390x has no virtio-rng")
    local e = expect_error(concepts.check_item, "disks", {}, pod)
    eq(e.kind, "usage")
  end)

  it("build an item where the pod's own devices stopped, and emit it against their ids", function()
    local pod = vc.pod{name = "hp", drives = {{file = "/a", format = "raw"}}}
    local ctx = pod:placement()
    local devs, froms = concepts.build_item("drives", {file = "/b"}, pod, ctx)
    eq(#devs, 1)
    eq(devs[1][1], "virtio-blk")
    eq(devs[1][2].id, "drive1")
    eq(froms[1].origin, "pod.drives[2]")
    local seen = {}
    for k, v in pairs(pod:_base().seen) do seen[k] = v end
    local args, ids = concepts.emit(devs[1], froms[1], seen)
    eq(table.concat(args, " "),
       "-drive if=none,id=drive1,file=/b,format=raw -device virtio-blk-pci,drive=drive1,id=drive1-dev")
    eq(ids[1], "drive1")
    devs, froms = concepts.build_item("drives", {file = "/c", id = "drive0"}, pod, ctx)
    local e = expect_error(concepts.emit, devs[1], froms[1], seen)
    eq(e.message, "pod: duplicate id 'drive0': virtio-blk (pod.drives[1]) and virtio-blk (pod.drives[2])")
    devs, froms = concepts.build_item("volumes", {host_path = "/x", tag = "a\nb"}, pod, ctx)
    e = expect_error(concepts.emit, devs[1], froms[1], seen)
    eq(e.message, "pod.volumes[1].tag: holds a control character (0x0a)")
    -- the pod's own placement is untouched
    eq(pod:placement().counters.drive, 1)
  end)
end)

describe("pod.cpu_features", function()
  local function cpu_of(t)
    local argv = vc.pod(t):argv()
    for i, a in ipairs(argv) do
      if a == "-cpu" then return argv[i + 1] end
    end
  end

  it("a table: name = on/off or a number, written after the model in name order", function()
    eq(cpu_of{cpu_features = {["sse4.2"] = false, avx2 = true, ["phys-bits"] = 40}},
       "max,avx2=on,phys-bits=40,sse4.2=off")
    eq(cpu_of{cpu = "Skylake-Server-v4", cpu_features = {pmu = false}},
       "Skylake-Server-v4,pmu=off")
    eq(cpu_of{cpu_features = {}}, "max")
    eq(cpu_of{}, "max")
  end)

  it("a string: the cpu kind's text, checked there", function()
    eq(cpu_of{cpu_features = "sse4.2=off,+avx,-avx2"}, "max,sse4.2=off,+avx,-avx2")
    eq(pod_error{cpu_features = "sse4.2=off,,avx=on"},
       "pod.cpu_features: \"sse4.2=off,,avx=on\" has an empty item: features are separated " ..
       "by one comma (QEMU's -cpu parser does not take a doubled comma as a comma)")
    eq(pod_error{cpu_features = "avx"},
       "pod.cpu_features: \"avx\" is not a feature like +name, -name or " ..
       "name=on|off|true|false|<integer> (names: letters, digits, '.', '_', '-')")
  end)

  it("refuses what -cpu cannot carry", function()
    eq(pod_error{cpu_features = {["sse4,2"] = false}},
       "pod.cpu_features: feature \"sse4,2\": a name holds letters, digits, '.', '_' and '-' " ..
       "and starts with a letter or digit")
    eq(pod_error{cpu_features = {pmu = "off"}},
       "pod.cpu_features: feature \"pmu\": expected a boolean (on/off) or an integer >= 0, " ..
       "got a string")
    eq(pod_error{cpu_features = {level = -1}},
       "pod.cpu_features: feature \"level\": expected a boolean (on/off) or an integer >= 0, " ..
       "got -1")
    eq(pod_error{cpu_features = {true}},
       "pod.cpu_features: feature 1: a name holds letters, digits, '.', '_' and '-' and " ..
       "starts with a letter or digit")
    eq(pod_error{cpu_features = 5}, "pod: field 'cpu_features' must be a string or a table, got 5")
    -- a comma in the model: no escaping helps, -cpu splits at every comma
    eq(pod_error{cpu = "max,pmu=off"},
       "pod: cpu \"max,pmu=off\" holds a comma: QEMU's -cpu parser splits at every comma " ..
       "(doubled or not); give the features in cpu_features")
  end)

  it("an arch policy may add its own (cpu_features), as virtcontainers adds pmu=off", function()
    local p = vc.arch("amd64"):extend{
      cpu_features = function(self, pod, accel)
        local t = {pmu = false}
        for k, v in pairs(vc.arch("amd64").cpu_features(self, pod, accel) or {}) do t[k] = v end
        return t
      end,
    }
    eq(cpu_of{arch = p}, "max,pmu=off")
    eq(cpu_of{arch = p, cpu_features = {avx = true}}, "max,avx=on,pmu=off")
    -- what the policy returns is checked by the kind, named for the recipe
    local bad = vc.arch("amd64"):extend{cpu_features = function() return "pmu=maybe" end}
    eq(pod_error{arch = bad},
       "pod.cpu_features: \"pmu=maybe\" is not a feature like +name, -name or " ..
       "name=on|off|true|false|<integer> (names: letters, digits, '.', '_', '-')")
  end)
end)
