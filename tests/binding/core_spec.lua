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
  it("suggests by one rule for pods and devices: few edits, a swap is one", function()
    eq(core.suggest("tga", {"id", "tag", "path"}), "tag")
    eq(core.suggest("VCPUZ", {"vcpus", "memory"}), "vcpus")
    eq(core.suggest("zzz", {"id", "tag"}), nil)
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
