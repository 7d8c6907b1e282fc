-- pod.memory and pod.max_memory as size strings ("512M", "2G") or MiB
-- integers: what each one means, what is refused and why, the -m QEMU
-- gets, and a real QEMU that starts with a "1G" pod and reports 1 GiB.
local vc = require "vclaunch"
local schema = require "vclaunch.schema"

vc.options.accel = "tcg"
vc.options.runtime_dir = os.tmpname() .. ".d"
os.remove(vc.options.runtime_dir:sub(1, -3))

local function m_option(t)
  local argv = vc.pod(t):argv()
  for i, a in ipairs(argv) do
    if a == "-m" then return argv[i + 1] end
  end
end

local function refused(t)
  local ok, e = pcall(vc.pod, t)
  if ok then error("expected an error, got a pod", 2) end
  eq(e.kind, "recipe", "error kind")
  return e.message
end

describe("memory sizes", function()
  it("reads integers as MiB and strings with QEMU's binary units", function()
    local cases = {
      {512, 512}, {"512", 512}, {"512M", 512}, {"512m", 512}, {"512MiB", 512}, {"512MB", 512},
      {"2G", 2048}, {"2g", 2048}, {"2GiB", 2048}, {"1.5G", 1536}, {"1T", 1024 * 1024},
      {"1024K", 1}, {"1048576B", 1}, {"0001G", 1024},
    }
    for _, c in ipairs(cases) do eq(schema.size_mib(c[1]), c[2], tostring(c[1])) end
  end)

  it("puts the MiB on -m, maxmem rounded by the arch as before", function()
    eq(m_option{name = "s", memory = "1G"}, "1024M")
    eq(m_option{name = "s", memory = 1024}, "1024M")
    eq(m_option{name = "s", memory = "256M", max_memory = "2G", memory_slots = 2},
       "256M,slots=2,maxmem=2048M")
    eq(vc.pod{name = "s", memory = "1G"}.spec.memory, 1024, "the spec holds MiB")
  end)

  it("refuses what is not a whole, positive, mappable number of MiB", function()
    local cases = {
      {0, "pod: field 'memory': 0 MiB is not a size (at least 1)"},
      {-1, "pod: field 'memory': -1 MiB is not a size (at least 1)"},
      {"0G", "pod: field 'memory': \"0G\" is not a size (at least 1M)"},
      {"1.5", "pod: field 'memory': \"1.5\" is not a whole number of MiB (1572864 bytes)"},
      {"1000K", "pod: field 'memory': \"1000K\" is not a whole number of MiB (1024000 bytes)"},
      {"17T", "pod: memory (17825792 MiB) is above what a host can map (16777216 MiB, 16 TiB)"},
      {"99999999999999999999G", "pod: field 'memory': \"99999999999999999999G\" is too large " ..
                                "or too precise"},
      {0 / 0, "pod: field 'memory' must be an integer (MiB) or a size string like \"512M\" " ..
              "or \"2G\", got " .. tostring(0 / 0)},
      {1 / 0, "pod: field 'memory' must be an integer (MiB) or a size string like \"512M\" " ..
              "or \"2G\", got inf"},
      {512.5, "pod: field 'memory' must be an integer (MiB) or a size string like \"512M\" " ..
              "or \"2G\", got 512.5"},
    }
    for _, c in ipairs(cases) do eq(refused{name = "s", memory = c[1]}, c[2], tostring(c[1])) end
    local shape = " is not a size like \"512M\", \"2G\", \"1.5GiB\" (units K, M, G, T; no " ..
                  "unit: MiB)"
    for _, s in ipairs{"1G,share=on", "1G\0", "1P", "0x10M", "1e3", " 1G", "1G ", ".5G", "1.G",
                       "1GIB2", "G", "", "nan", "inf", "-1G", "1 G"} do
      eq(refused{name = "s", memory = s}, "pod: field 'memory': " .. ("%q"):format(s) .. shape, s)
    end
    eq(refused{name = "s", memory = "1G", max_memory = "512M"}, "pod: max_memory is below memory")
    eq(refused{name = "s", max_memory = "20T"},
       "pod: max_memory (20971520 MiB) is above what a host can map (16777216 MiB, 16 TiB)")
  end)

  it("starts QEMU with a \"1G\" pod, which reports 1 GiB of memory", function()
    local vm <close> = vc.pod{name = "onegig", memory = "1G", freeze = true}:start()
    local s = vm:execute("query-memory-size-summary")
    eq(s["base-memory"], 1024 * 1024 * 1024, "base-memory")
    vm:execute("quit")
    vm:wait(30)
  end)
end)
