-- QMP throughput benchmark, vclaunch's side: one VM (-S, q35, 128 MiB, TCG,
-- no kernel) started by vclaunch, then N `vm:execute("query-status")`.
--
--   build/vclaunch --accel tcg bench/qmp.lua N serial      one task, one
--                                                          command at a time
--   build/vclaunch --accel tcg bench/qmp.lua N pipelined   N tasks, one
--                                                          command each, all
--                                                          in flight at once
--
-- Prints on stdout, for the N commands only (start and quit not timed), the
-- same lines as bench_qmp_bare:
--   cmds_per_s R        N / wall time (the loop's monotonic clock)
--   wall_ms W
--   cpu_us_per_cmd C    this process's CPU (os.clock: user + system) / N
-- Each reply is checked as the bare client checks its own: a table whose
-- status is "prelaunch". Every command gets a timeout of TIMEOUT seconds:
-- with 50 000 in flight the last one waits for QEMU to answer the 49 999
-- before it (half a minute on a slow machine), longer than the default 30 s.
--
--   build/vclaunch bench/qmp.lua N MODE SOCKET
--
-- connects to a QEMU that is already listening on SOCKET (as bench_qmp_bare
-- does) instead of starting one: for valgrind, which cannot run vclaunch's
-- own start (valgrind 3.19 does not know pidfd_open). The commands then go
-- through a copy of VM:execute (lua/vclaunch/vm.lua) over core.qmp_connect's
-- session: the same binding and core calls, the same Lua wrapper.
local vc = require "vclaunch"
local core = require "vclaunch.core"

local n = math.tointeger(tonumber(arg[1] or ""))
local mode = arg[2]
if not n or n < 1 or (mode ~= "serial" and mode ~= "pipelined") then
  error("usage: qmp.lua N serial|pipelined", 0)
end

local vm
if arg[3] then
  local errors = require "vclaunch.errors"
  local VM = {}
  VM.__index = VM
  function VM:_check()
    if self.exit then errors.fail("process", "the VM has exited") end
  end
  function VM:execute(command, args, timeout) -- as lua/vclaunch/vm.lua's
    self:_check()
    local ok, r = pcall(self.qmp.execute, self.qmp, command, args, timeout)
    if ok then return r end
    errors.rethrow(r, "qmp")
  end
  function VM:wait() self.qmp:close() end
  vm = setmetatable({qmp = core.qmp_connect(arg[3], 10)}, VM)
else
  vm = vc.pod{name = "qmpbench", memory = 128, freeze = true, accel = "tcg"}:start()
end

local TIMEOUT = 3600

local function query()
  local r = vm:execute("query-status", nil, TIMEOUT)
  if r.status ~= "prelaunch" then error("unexpected reply: " .. tostring(r.status), 0) end
end

local t0, c0 = core.now(), os.clock()
if mode == "serial" then
  for _ = 1, n do query() end
else
  local left, done, failed = n, core.cond(), nil
  local function one()
    local ok, e = pcall(query)
    if not ok then failed = failed or e end
    left = left - 1
    if left == 0 then done:signal() end
  end
  for _ = 1, n do vc.spawn(one) end
  while left > 0 do done:wait(TIMEOUT) end
  if failed then error(failed, 0) end
end
local wall, cpu = core.now() - t0, os.clock() - c0

io.write(("cmds_per_s %.0f\nwall_ms %.1f\ncpu_us_per_cmd %.2f\n"):format(n / wall, wall * 1000,
                                                                          cpu * 1e6 / n))
pcall(vm.execute, vm, "quit") -- QEMU may close the socket before it replies
vm:wait()
