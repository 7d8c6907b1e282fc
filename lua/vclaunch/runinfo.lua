-- A VM as other vclaunch processes see it, the owner's side: what the
-- VM's runtime dir holds for `vclaunch ls`, `stop` and `qmp`
-- (vclaunch.admin).
--
--   vm.json         the VM's metadata (M.FILE), written before QEMU starts
--                   (qemu_pid null) and again once QEMU is spawned (with
--                   qemu_pid), before QMP is negotiated; each time whole,
--                   as a temporary file renamed into place
--   qmp-user.sock   a second QMP monitor, QEMU's own (-chardev socket
--                   server + -mon control): another vclaunch talks to QEMU
--                   there while the owner's QMP session goes on
--   ctl.sock        the owner's control socket, served on its loop: one
--                   request line per connection ("stop S": run the
--                   shutdown ladder with S seconds a step; "wait": nothing);
--                   the connection is held until the owner lets go of the VM
--                   (its runtime dir is removed first), so the client reads
--                   EOF when the VM is gone
local core = require "vclaunch.core"
local errors = require "vclaunch.errors"

local M = {}

M.FILE, M.USER_QMP, M.CTL = "vm.json", "qmp-user.sock", "ctl.sock"
M.VERSION = 1

--- Adds the second QMP monitor's arguments to extra (vclaunch's own QEMU
--- arguments, as vm.start builds them) for the runtime dir dir.
function M.add_args(extra, dir)
  local path = core.socket_path(dir, M.USER_QMP)
  extra[#extra + 1] = {"chardev", {backend = "socket", id = "qmp-user", path = path,
                                   server = true, wait = false}}
  extra[#extra + 1] = {"mon", {chardev = "qmp-user"}}
end

local function write(vm)
  local path = vm.dir .. "/" .. M.FILE
  local tmp = path .. ".new"
  local f, err = io.open(tmp, "wb")
  if not f then errors.fail("io", ("%s: cannot write %s: %s"):format(vm.name, tmp, err)) end
  local ok, werr = f:write(core.json_encode(vm.runinfo, true), "\n")
  f:close()
  if ok then ok, werr = os.rename(tmp, path) end
  if not ok then
    os.remove(tmp)
    errors.fail("io", ("%s: cannot write %s: %s"):format(vm.name, path, werr))
  end
end

-- The owner's answer to one control request; returns the reply and
-- whether to hold the connection until the VM is gone.
local function request(vm, line)
  local cmd, arg = line:match("^(%S*)%s*(.-)%s*$")
  if vm.exit then return "gone\n", false end
  if cmd == "stop" then
    local t = tonumber(arg) or 10
    if t <= 0 or t ~= t then return "error: stop takes a positive number of seconds\n", false end
    if not vm.stop_requested then
      vm.stop_requested = t
      errors.log("info", "%s: stop requested from outside (%g s a step)", vm.name, t)
      core.spawn(function()
        local ok, e = pcall(vm.shutdown, vm, {timeout = t})
        if not ok then errors.log("error", "%s: stop: %s", vm.name, tostring(e)) end
      end)
    end
    return ("stopping %s: shutdown ladder, %g s a step\n"):format(vm.name, vm.stop_requested), true
  elseif cmd == "wait" then
    return "waiting\n", true
  end
  return ("error: unknown request '%s'\n"):format(cmd), false
end

--- Before QEMU starts: writes vm.json and serves ctl.sock.
function M.publish(vm)
  local now = os.time()
  local dir = vm.dir
  vm.runinfo = {
    version = M.VERSION,
    name = vm.name,
    dir = dir,
    vclaunch_pid = core.getpid(),
    qemu_pid = core.json_null, -- known once QEMU is spawned
    started = os.date("!%Y-%m-%dT%H:%M:%SZ", now),
    started_epoch = now,
    argv = vm.argv,
    log = vm.log_path or vm.console.log_path or core.json_null, -- the console log file
    qmp = dir .. "/qmp.sock", -- the owner's own monitor
    qmp_user = dir .. "/" .. M.USER_QMP,
    ctl = dir .. "/" .. M.CTL,
    pidfile = dir .. "/pid",
  }
  write(vm)
  vm.ctl = core.ctl_listen(core.socket_path(dir, M.CTL), function(line)
    return request(vm, line)
  end)
end

--- Once QEMU is spawned, before QMP: vm.json gains QEMU's pid.
function M.spawned(vm)
  vm.runinfo.qemu_pid = vm.proc:pid()
  write(vm)
end

--- When the VM is let go of (its runtime dir removed): held control
--- connections close, which tells their clients the VM is gone.
function M.release(vm)
  if vm.ctl then vm.ctl:close() vm.ctl = nil end
end

return M
