-- Facts about the host for the policies (which do no I/O), each read once
-- and only when first asked for: arch (in arch/ names, or false), kvm
-- (whether /dev/kvm opens), cpu_flags (the "flags" line of /proc/cpuinfo
-- as a set; only the nesting check under KVM asks, and /proc/cpuinfo is
-- large on big hosts) and tsc_khz (the host's TSC rate, or false: measured
-- over 10 ms; only a microvm guest under TCG asks).
local HOST_ARCHES = {x86_64 = "amd64", aarch64 = "arm64", ppc64le = "ppc64le", s390x = "s390x"}
local function read_file(path)
  local f = io.open(path)
  if not f then return "" end
  local text = f:read("a")
  f:close()
  return text
end
local core = require "vclaunch.core"
local HOST_FACTS = {
  arch = function()
    return HOST_ARCHES[read_file("/proc/sys/kernel/arch"):match("%S+") or ""] or false
  end,
  kvm = function() -- /dev/kvm can be opened
    local f = io.open("/dev/kvm", "r+")
    if f then f:close() end
    return f ~= nil
  end,
  cpu_flags = function()
    local flags = {}
    for flag in (read_file("/proc/cpuinfo"):match("\nflags%s*:([^\n]*)") or ""):gmatch("%S+") do
      flags[flag] = true
    end
    return flags
  end,
  tsc_khz = function() return core.tsc_khz() or false end,
}
local host_facts = setmetatable({}, {__index = function(t, k)
  local fact = HOST_FACTS[k]
  if not fact then return nil end
  local v = fact()
  rawset(t, k, v)
  return v
end})
return host_facts
