-- Soak: start and stop VMs one after another in one vclaunch process and
-- watch what the process holds. Each cycle starts a pod (-S, q35, 128 MiB,
-- TCG), negotiates QMP, sends quit and waits for the exit. Every `every`
-- cycles it prints the cycle, the open fds, the current RSS (VmRSS) and
-- the Lua heap after a full collection; flat columns mean nothing leaks.
--
--   build/vclaunch --accel tcg bench/soak.lua [CYCLES [EVERY [PARALLEL]]]
--
-- PARALLEL (default 1) VMs run at once in each cycle, each in its own task.
local vc = require "vclaunch"

local cycles = math.tointeger(tonumber(arg[1] or "300"))
local every = math.tointeger(tonumber(arg[2] or "50"))
local parallel = math.tointeger(tonumber(arg[3] or "1"))
assert(cycles and every and parallel and cycles > 0 and every > 0 and parallel > 0,
       "usage: soak.lua [CYCLES [EVERY [PARALLEL]]]")

local function fds()
  local n = 0
  for i = 0, 4095 do
    local f, _, code = io.open("/proc/self/fd/" .. i)
    if f then f:close() end
    if f or code ~= 2 then n = n + 1 end
  end
  return n
end

local function rss_kib()
  local f = assert(io.open("/proc/self/status"))
  local kib = f:read("a"):match("VmRSS:%s*(%d+) kB")
  f:close()
  return tonumber(kib)
end

local pod = vc.pod{name = "soak", memory = 128, freeze = true}
local function one()
  local vm = pod:start()
  vm:execute("quit")
  assert(vm:wait(60).code == 0)
end

print(("%8s %6s %10s %10s"):format("cycle", "fds", "rss_kib", "lua_kib"))
local t0 = os.time()
for c = 1, cycles do
  local tasks = {}
  for i = 1, parallel do tasks[i] = vc.spawn(one) end
  for _, t in ipairs(tasks) do t:wait() end
  if c == 1 or c % every == 0 then
    collectgarbage()
    collectgarbage()
    print(("%8d %6d %10d %10.0f"):format(c, fds(), rss_kib(), collectgarbage("count")))
  end
end
print(("%d cycles of %d VM(s) in %ds"):format(cycles, parallel, os.time() - t0))
