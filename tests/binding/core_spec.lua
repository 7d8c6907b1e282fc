-- vclaunch.core through a stock lua5.4: kinds converted through their
-- field tables, error objects, rendering.
local core = require "vclaunch.core"

describe("core.emit", function()
  it("converts a table through the kind's fields", function()
    local a = core.emit("smp", {cpus = 2, maxcpus = 4, sockets = 4, cores = 1, threads = 1})
    eq(table.concat(a, " "), "-smp 2,sockets=4,cores=1,threads=1,maxcpus=4")
  end)
  it("emits booleans as on/off and escapes commas", function()
    local a = core.emit("chardev", {backend = "file", id = "c0", path = "/a,b", wait = false})
    eq(a[1], "-chardev")
    eq(a[2], "file,id=c0,path=/a,,b,wait=off")
  end)
  it("emits raw options verbatim", function()
    local a = core.emit("kernel", {path = "/boot/k", append = "console=ttyS0 x=a,b"})
    eq(table.concat(a, "|"), "-kernel|/boot/k|-append|console=ttyS0 x=a,b")
  end)
end)

describe("core.emit ids", function()
  it("returns the ids the device defines, in field order", function()
    local a, ids = core.emit("virtio-blk", {device_id = "vd0", id = "d0", file = "/d",
                                            format = "raw", bus = "rp1"})
    eq(a[1], "-drive")
    eq(type(ids), "table")
    eq(table.concat(ids, " "), "d0 vd0")
    local _, none = core.emit("smp", {cpus = 1})
    eq(#none, 0)
    local _, own = core.emit("vhost-user-blk", {chardev = "c0", socket = "/s"})
    eq(table.concat(own, " "), "c0", "a vhost-user device's own chardev")
    local _, port = core.emit("virtserialport", {chardev = "c0", id = "p0"})
    eq(table.concat(port, " "), "p0", "a port names its chardev, it does not define it")
  end)
  it("sees the memory backend an nvdimm creates, not a memdev another names", function()
    local seen, dup = {}, nil
    for i, t in ipairs{{memdev = "m0", id = "nv0"}, {memdev = "m0", id = "nv1"}} do
      t.mem_path, t.size = "/dev/shm/nv" .. i, "1G"
      local a, ids = core.emit("nvdimm", t)
      eq(a[2]:match("id=m0") ~= nil, true, "the object id is emitted")
      for _, id in ipairs(ids) do
        if seen[id] then dup = id end
        seen[id] = true
      end
    end
    eq(dup, "m0")
    local _, numa = core.emit("numa-node", {nodeid = 0, memdev = "m0"})
    eq(#numa, 0)
  end)
  it("marks those fields in core.kinds()", function()
    local kinds = core.kinds()
    local function field(kind, name)
      for _, f in ipairs(kinds[kind].fields) do if f.name == name then return f end end
    end
    eq(field("nvdimm", "memdev").defines_id, true)
    eq(field("nvdimm", "id").defines_id, true)
    eq(field("numa-node", "memdev").defines_id, nil)
    eq(field("virtio-blk", "bus").defines_id, nil)
    eq(field("virtio-blk", "device_id").defines_id, true)
  end)
end)

describe("core.emit errors", function()
  local function msg(kind, t)
    local e = expect_error(core.emit, kind, t)
    eq(type(e), "table", "error object")
    eq(e.kind, "recipe", "error kind")
    return tostring(e)
  end
  it("names the device by its id whatever the table's order", function()
    -- built key by key in both orders: Lua's traversal order follows them
    for _, order in ipairs{{"id", "backend", "bogus"}, {"bogus", "backend", "id"}} do
      local t, vals = {}, {id = "c1", backend = "tcp", bogus = 1}
      for _, k in ipairs(order) do t[k] = vals[k] end
      t.bogus = nil
      eq(msg("chardev", t),
         "chardev 'c1': field 'backend': \"tcp\" is not one of: socket, pipe, file, pty, null, stdio")
    end
    local t = {}
    for i = 1, 20 do t["x" .. i] = nil end
    t.zzz, t.id, t.backend = 1, "c2", "null"
    eq(msg("chardev", t), "chardev 'c2': unknown field 'zzz'")
    eq(msg("chardev", {id = "2bad", backend = "tcp"}):match("^chardev: field 'id': ") ~= nil, true)
  end)
  it("carries the device, its id and the failing field as data", function()
    local e = expect_error(core.emit, "virtio-9p", {id = "fs0", path = "/srv"})
    eq(tostring(e), "virtio-9p 'fs0': field 'mount_tag': is required")
    eq(e.device, "virtio-9p")
    eq(e.id, "fs0")
    eq(e.field, "mount_tag")
    e = expect_error(core.emit, "chardev", {id = "c1", backend = "socket", fd = 1.5})
    eq(tostring(e), "chardev 'c1': field 'fd': expected an integer, got 1.5")
    eq(e.device, "chardev")
    eq(e.id, "c1")
    eq(e.field, "fd")
    e = expect_error(core.emit, "smp", {cpus = "2x"})
    eq(e.device, "smp")
    eq(e.id, nil)
    eq(e.field, "cpus")
    e = expect_error(core.emit, "virtio-blk", {id = "d0", file = "/d", format = "raw", fromat = 1})
    eq(tostring(e), "virtio-blk 'd0': unknown field 'fromat' (did you mean 'format'?)")
    eq(e.device, "virtio-blk")
    eq(e.id, "d0")
    eq(e.field, nil, "an unknown field is not one of the kind's")
    e = expect_error(core.emit, "memroy", {})
    eq(e.device, nil)
    eq(e.field, nil)
  end)
  it("names the field of a rule the kind checks after the fields", function()
    local tag = ("t"):rep(32)
    local e = expect_error(core.emit, "virtio-9p", {id = "fs0", path = "/srv", mount_tag = tag})
    eq(tostring(e), "virtio-9p 'fs0': field 'mount_tag': \"" .. tag ..
       "\" is 32 bytes, QEMU takes at most 31")
    eq(e.field, "mount_tag")
    e = expect_error(core.emit, "chardev", {id = "c0", backend = "socket"})
    eq(tostring(e), "chardev 'c0': field 'path': is required with backend socket (or fd)")
    eq(e.field, "path")
    e = expect_error(core.emit, "uuid", {uuid = "not-a-uuid"})
    eq(e.device, "uuid")
    eq(e.field, "uuid")
  end)
  it("suggests by one rule for pods and devices: few edits, a swap is one", function()
    eq(core.suggest("tga", {"id", "tag", "path"}), "tag")
    eq(core.suggest("VCPUZ", {"vcpus", "memory"}), "vcpus")
    eq(core.suggest("zzz", {"id", "tag"}), nil)
    -- a tie goes to the longest shared start, whatever the order
    eq(core.suggest("vcpu", {"cpu", "vcpus", "memory"}), "vcpus")
    eq(core.suggest("vcpu", {"memory", "vcpus", "cpu"}), "vcpus")
    eq(core.suggest("memroy", {"cpu", "vcpus", "memory", "memory_slots"}), "memory")
    eq(msg("chardev", {id = "c3", backend = "null", pahtt = "/x"}),
       "chardev 'c3': unknown field 'pahtt' (did you mean 'path'?)")
  end)
  it("suggests the nearest field for an unknown one", function()
    eq(msg("smp", {cpus = 1, maxcpu = 2}), "smp: unknown field 'maxcpu' (did you mean 'maxcpus'?)")
  end)
  it("suggests the nearest kind", function()
    eq(msg("memroy", {}), "unknown device kind 'memroy' (did you mean 'memory'?)")
  end)
  it("names the wrong type", function()
    eq(msg("smp", {cpus = "2x"}), "smp: field 'cpus': expected an integer, got \"2x\"")
    eq(msg("smp", {cpus = 1.5}), "smp: field 'cpus': expected an integer, got 1.5")
    eq(msg("flags", {nographic = {}}), "flags: field 'nographic': expected a boolean, got a table")
  end)
  it("names a missing required field", function()
    eq(msg("memory", {slots = 2}), "memory: field 'size': is required")
  end)
  it("refuses a newline in a path", function()
    eq(msg("pidfile", {path = "/run/x\n"}), "pidfile: field 'path': holds a control character (0x0a)")
  end)
  it("refuses an invalid id", function()
    eq(msg("chardev", {backend = "null", id = "c 0"}),
       "chardev: field 'id': id 'c 0' may hold only letters, digits, '-', '.' and '_'")
  end)
end)

describe("NUL bytes", function()
  -- C ends a string at a NUL byte: each is refused, never cut short
  local function err(fn, ...)
    local e = expect_error(fn, ...)
    eq(type(e), "table", "error object")
    return e, tostring(e):gsub("^[^:]*:%d+: ", "")
  end
  it("are refused in a device field value, naming the field", function()
    local e, m = err(core.emit, "virtio-blk", {id = "d0", file = "/d", format = "raw",
                                               serial = "ab\0cd"})
    eq(m, "virtio-blk 'd0': field 'serial': holds a NUL byte")
    eq(e.kind, "recipe")
    eq(e.field, "serial")
    e, m = err(core.emit, "virtio-blk", {id = "d0\0x", file = "/d", format = "raw"})
    eq(m, "virtio-blk: field 'id': holds a NUL byte")
    e, m = err(core.emit, "virtio-blk", {id = "d0", ["file\0x"] = "/d", format = "raw"})
    eq(m, "virtio-blk 'd0': field name \"file\\0...\" holds a NUL byte")
    e, m = err(core.emit, "smp\0x", {cpus = 1})
    eq(m, "device kind holds a NUL byte")
    eq(e.kind, "usage")
  end)
  it("are refused in an argv entry", function()
    local e, m = err(core.render, {"qemu-system-x86_64", "-name", "a\0b"}, "json")
    eq(m, "argv[3] holds a NUL byte")
    eq(e.kind, "usage")
    e, m = err(core.render, {"qemu-system-x86_64", {}})
    eq(m, "argv[2] is not a string")
  end)
  it("are refused by core.escape, core.check_id and core.suggest", function()
    local e, m = err(core.escape, "a\0,b")
    eq(m, "value holds a NUL byte")
    eq(e.kind, "usage")
    e, m = err(core.check_id, "disk\0x", "device id")
    eq(m, "device id holds a NUL byte")
    e, m = err(core.check_id, "disk\0x")
    eq(m, "id holds a NUL byte")
    e, m = err(core.suggest, "vcpu\0", {"vcpus"})
    eq(m, "name holds a NUL byte")
    e, m = err(core.suggest, "vcpu", {"memory", "vcpus\0"})
    eq(m, "names[2] holds a NUL byte")
  end)
end)

describe("core helpers", function()
  it("renders shell and json", function()
    local argv = {"qemu-system-x86_64", "-append", "a b", "-name", "it's"}
    eq(core.render(argv, "shell"), "qemu-system-x86_64 -append 'a b' -name 'it'\\''s'")
    eq(core.render(argv, "json"), '["qemu-system-x86_64","-append","a b","-name","it\'s"]')
  end)
  it("escapes and checks ids", function()
    eq(core.escape("a,b"), "a,,b")
    eq(expect_error(core.escape, "a\nb").kind, "usage")
    eq(core.check_id("disk0"), "disk0")
    eq(expect_error(core.check_id, "0disk", "device id").kind, "recipe")
  end)
  it("describes kinds from the same tables", function()
    local kinds = core.kinds()
    local smp = kinds.smp
    eq(smp.fields[1].name, "cpus")
    eq(smp.fields[1].required, true)
    eq(smp.fields[1].min, 1)
    eq(kinds.machine.fields[2].values[2], "tcg")
  end)
end)

describe("core.hotplug", function()
  -- A QMP command as one line: command and its arguments, keys sorted.
  local function flat(v)
    if type(v) ~= "table" then return type(v) == "string" and ("%q"):format(v) or tostring(v) end
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = k end
    table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
    local out = {}
    for _, k in ipairs(keys) do
      out[#out + 1] = (math.type(k) and "" or (k .. "=")) .. flat(v[k])
    end
    return "{" .. table.concat(out, ",") .. "}"
  end
  local function cmds(list)
    local out = {}
    for i, c in ipairs(list) do out[i] = c.command .. " " .. flat(c.arguments) end
    return table.concat(out, "\n")
  end

  it("writes typed QMP arguments from the kind's own fields, backends first", function()
    local plug, unplug = core.hotplug("virtio-blk", {id = "d1", device_id = "d1-dev",
      file = "/i,mg", format = "raw", readonly = true, serial = "s1", bus = "rp0"})
    eq(cmds(plug), 'blockdev-add {driver="raw",file={driver="file",filename="/i,mg"},' ..
       'node-name="d1",read-only=true}\n' ..
       'device_add {bus="rp0",drive="d1",driver="virtio-blk-pci",id="d1-dev",serial="s1"}')
    eq(cmds(unplug), 'device_del {id="d1-dev"}\nblockdev-del {node-name="d1"}')
  end)

  it("writes netdev_add, chardev-add and object-add", function()
    local plug, unplug = core.hotplug("virtio-net-tap", {id = "n1", device_id = "n1-dev",
      fds = "5", vhost = false, mac = "52:54:00:00:00:01", transport = "pci", bus = "rp1"})
    eq(cmds(plug), 'netdev_add {fds="5",id="n1",type="tap",vhost=false}\n' ..
       'device_add {bus="rp1",driver="virtio-net-pci",id="n1-dev",mac="52:54:00:00:00:01",netdev="n1"}')
    eq(cmds(unplug), 'device_del {id="n1-dev"}\nnetdev_del {id="n1"}')
    plug = core.hotplug("chardev", {backend = "socket", id = "c1", path = "/s", server = true,
                                    wait = false})
    eq(cmds(plug), 'chardev-add {backend={data={addr={data={path="/s"},type="unix"},' ..
       'server=true,wait=false},type="socket"},id="c1"}')
    plug, unplug = core.hotplug("memory-backend-ram", {id = "m1", size = "256M"})
    eq(cmds(plug), 'object-add {id="m1",qom-type="memory-backend-ram",size=268435456}')
    eq(cmds(unplug), 'object-del {id="m1"}')
    -- a client socket says so: QMP's default is a server that waits
    plug = core.hotplug("vhost-user-blk", {chardev = "vu1", socket = "/vu.sock",
                                           device_id = "vu1-dev", bus = "rp2"})
    eq(cmds(plug), 'chardev-add {backend={data={addr={data={path="/vu.sock"},type="unix"},' ..
       'server=false},type="socket"},id="vu1"}\n' ..
       'device_add {bus="rp2",chardev="vu1",driver="vhost-user-blk-pci",id="vu1-dev"}')
  end)

  it("refuses what QMP cannot add, with the reason", function()
    local e = expect_error(core.hotplug, "virtio-9p", {id = "fs1", path = "/tmp", mount_tag = "t",
                                                      security_model = "none"})
    eq(e.message, "virtio-9p 'fs1': cannot be hot-plugged: QEMU has no QMP command to add a -fsdev")
    e = expect_error(core.hotplug, "virtio-blk", {id = "d1", file = "/i", format = "raw"})
    eq(e.message, "virtio-blk 'd1': cannot be hot-plugged without a device id")
    e = expect_error(core.hotplug, "memory", {size = "1G"})
    eq(e.message:match("cannot be hot%-plugged: %-m is a start%-time option$") ~= nil, true,
       e.message)
  end)
end)
