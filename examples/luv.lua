-- vclaunch inside another program's event loop (luv, Debian's lua-luv):
-- a luv program keeps its own timer and TCP echo server answering while
-- vclaunch boots the test guest and shuts it down. vclaunch never blocks
-- luv's loop: luv polls vclaunch's backend fd and wakes up for its timers,
-- then lets vclaunch run one turn without waiting.
--
--   lua5.4 examples/luv.lua [GUEST_DIR]
--
-- with vclaunch installed where lua5.4 finds it (LUA_PATH, LUA_CPATH; see
-- the README). It prints what the host loop did while the VM ran and exits
-- with the VM's status.
local uv = require "luv"
local vc = require "vclaunch"

local dir = arg[1] or os.getenv("VC_GUEST_DIR") or "build/guest"
vc.options.accel = vc.options.accel or os.getenv("VC_ACCEL") or "tcg"

-- ---- vclaunch's loop, driven from luv's ---------------------------------
local pump_timer = uv.new_timer()
local backend = uv.new_poll(vc.backend_fd())
local function pump()
  local more = vc.run("nowait")
  pump_timer:stop()
  if not more then
    backend:stop()
    return
  end
  local ms = vc.backend_timeout()
  if ms >= 0 then pump_timer:start(ms, 0, pump) end
end
backend:start("r", pump)

-- ---- the host's own work: a heartbeat and a TCP echo server -------------
local ticks, echoes, vm_running = 0, 0, false
local ticks_while_vm, echoes_while_vm = 0, 0
local heartbeat = uv.new_timer()
heartbeat:start(20, 20, function()
  ticks = ticks + 1
  if vm_running then ticks_while_vm = ticks_while_vm + 1 end
end)

local server = uv.new_tcp()
server:bind("127.0.0.1", 0)
server:listen(8, function()
  local peer = uv.new_tcp()
  server:accept(peer)
  peer:read_start(function(err, data)
    if err or not data then peer:close() return end
    peer:write(data)
  end)
end)
local port = server:getsockname().port

-- A client pings the server every 50 ms and counts the answers.
local client = uv.new_tcp()
local ping = uv.new_timer()
client:connect("127.0.0.1", port, function(err)
  assert(not err, err)
  client:read_start(function(_, data)
    if data then
      echoes = echoes + 1
      if vm_running then echoes_while_vm = echoes_while_vm + 1 end
    end
  end)
  ping:start(0, 50, function() client:write("ping") end)
end)

-- ---- the VM, in a vclaunch task -----------------------------------------
local status
vc.spawn(function()
  local pod = vc.pod{name = "luv", memory = 256,
                     kernel = {path = dir .. "/vmlinuz", initrd = dir .. "/initrd.img"}}
  local vm = pod:start()
  vm_running = true
  vm.console:expect("VCLAUNCH%-GUEST%-READY", 120)
  status = vm:shutdown{timeout = 10}
  vm_running = false
  -- The host stops its own work once the VM is down.
  for _, h in ipairs{heartbeat, ping, client, server} do h:close() end
end)
pump() -- the first turn starts the task; from then on luv drives

uv.run()
print(("host loop while the VM ran: %d heartbeats, %d echoes"):format(ticks_while_vm,
                                                                    echoes_while_vm))
print(("VM exit: %s"):format(status and (status.code or ("signal " .. status.signal)) or "none"))
os.exit(status and status.code or 1)
