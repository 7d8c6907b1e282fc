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
