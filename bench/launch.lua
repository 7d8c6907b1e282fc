-- Launch benchmark: N pods (-S, q35, 128 MiB, no kernel) started at once,
-- QMP negotiated on each, then quit, then all reaped.
--
--   build/vclaunch --accel tcg bench/launch.lua N [rss]
--
-- With "rss", prints on stderr at the end, once every VM has been reaped,
-- "peak_rss_kib K": VmHWM of this vclaunch process alone (its QEMU children
-- are not counted), and "cpu_ms C": this process's own CPU time so far
-- (os.clock, user + system, children not counted).
--
-- `vclaunch --dry-run bench/launch.lua 1 pod` returns the first pod
-- unstarted, so --dry-run prints its argv; bench/reference.c uses that argv
-- plus the QMP arguments vclaunch adds at start. (The CLI does not tell a
-- recipe that it runs under --dry-run, hence the extra argument.)
local vc = require "vclaunch"

local n = math.tointeger(tonumber(arg[1] or "1"))
if not n or n < 1 then error("usage: launch.lua N (N >= 1)", 0) end

local pods = {}
for i = 1, n do
  pods[i] = vc.pod{name = "bench" .. i, memory = 128, freeze = true, accel = "tcg"}
end

if arg[2] == "pod" then return pods[1] end

local tasks = {}
for i = 1, n do
  tasks[i] = vc.spawn(function()
    -- The reference waits as long as QEMU takes; so does this side (64 QEMUs
    -- starting on a busy 2-core machine can take longer than the default 30 s).
    local vm = pods[i]:start{timeout = 600}
    vm:execute("quit", nil, 600)
    vm:wait()
  end)
end
for i = 1, n do tasks[i]:wait() end

if arg[2] == "rss" then
  local f = assert(io.open("/proc/self/status"))
  local kib = f:read("a"):match("VmHWM:%s*(%d+) kB")
  f:close()
  io.stderr:write("peak_rss_kib ", kib, "\n")
  io.stderr:write(("cpu_ms %.2f\n"):format(os.clock() * 1000))
end
