-- vclaunch --kinds: the device kinds, read from the core's field tables.
local core = require "vclaunch.core"
local bin = assert(os.getenv("VC_BIN"), "VC_BIN is not set")

local function run(args)
  local argv, out, err = {bin}, {}, {}
  for _, a in ipairs(args) do argv[#argv + 1] = a end
  local p = core.process{argv = argv, on_line = function(stream, line)
    local t = stream == "stdout" and out or err
    t[#t + 1] = line
  end}
  local status = p:wait()
  p:close()
  return status.code, out, table.concat(err, "\n")
end

describe("vclaunch --kinds", function()
  it("lists every kind once, sorted, with its doc", function()
    local code, out = run{"--kinds"}
    eq(code, 0)
    local n = 0
    for _ in pairs(core.kinds()) do n = n + 1 end
    eq(#out, n, "one line per kind")
    local prev = ""
    for _, line in ipairs(out) do
      local name = line:match("^(%S+)")
      eq(name > prev, true, "sorted: " .. name .. " after " .. prev)
      prev = name
    end
    eq(out[1], "action                 -action: what QEMU does on guest reboot, shutdown, panic, watchdog")
  end)

  it("lists one kind's fields with type, required, default and values", function()
    local code, out = run{"--kinds", "virtio-9p"}
    eq(code, 0)
    eq(out[1], "virtio-9p: virtio-9p: a host directory shared over 9p")
    eq(out[2], "  id                       id                 required; id of the fsdev the device exports")
    eq(out[4], "  security_model           none|passthrough|mapped-xattr|mapped-file default none")
  end)

  it("refuses an unknown kind with status 2", function()
    local code, out, err = run{"--kinds", "virtio-bogus"}
    eq(code, 2)
    eq(#out, 0)
    eq(err, "vclaunch: --kinds: unknown device kind 'virtio-bogus'")
  end)
end)
