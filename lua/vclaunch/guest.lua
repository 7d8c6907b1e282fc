-- What the guest tells vclaunch about its end: a panic (QEMU's panic
-- action) and the exit status it writes to the vclaunch.status port.
--
-- Panic: the arch policy gives QEMU `-action panic=exit-failure`. QEMU 7.2
-- then, on a guest panic it learns of (pvpanic, s390x disabled wait,
-- pseries ibm,os-term), sends GUEST_PANICKED (action "poweroff") and
-- SHUTDOWN (reason "guest-panic") and exits with status 1. The events can
-- still be unread when the exit is seen, so status 1 from a QEMU whose
-- argv asks for exit-failure counts as a panic too.
--
-- Status: pod.guest_status adds a virtio-serial port named vclaunch.status
-- whose chardev is the file guest-status in the VM's runtime dir; the last
-- number the guest wrote there is vm:guest_status(). It is read again when
-- QEMU exits, before the runtime dir goes.
local M = {}

-- The status file's name in the runtime dir.
M.STATUS_FILE = "guest-status"

--- The pod to build QEMU's argv from when started in dir: for a pod with
--- guest_status, a copy whose status port names the file in dir (as
--- helpers.plan does for virtiofsd sockets); else pod itself.
function M.plan(pod, dir)
  if not pod.spec.guest_status then return pod end
  local spec = {}
  for k, v in pairs(pod.spec) do spec[k] = v end
  spec.guest_status = dir .. "/" .. M.STATUS_FILE
  local copy = {}
  for k, v in pairs(pod) do copy[k] = v end
  copy.spec, copy._cache = spec, nil
  return setmetatable(copy, getmetatable(pod)), spec.guest_status
end

-- Whether argv asks QEMU to exit with status 1 on a guest panic (the last
-- -action naming panic wins, as in QEMU).
local function panic_exits(argv)
  local exits = false
  for i = 1, #argv - 1 do
    if argv[i] == "-action" then
      local p = argv[i + 1]:match("%f[%w]panic=([%w-]+)")
      if p then exits = p == "exit-failure" end
    end
  end
  return exits
end

--- Watches vm (just started from argv; status_path from plan, or nil):
--- vm.panicked turns true on GUEST_PANICKED.
function M.watch(vm, argv, status_path)
  vm.panic_exits = panic_exits(argv)
  vm.status_path = status_path
  vm.panicked = false
  vm:on("GUEST_PANICKED", function(ev)
    vm.panicked = true
    require("vclaunch.events").emit(vm, "panicked", {action = ev.data and ev.data.action})
  end)
end

-- The last integer in the status file, or nil.
local function read_status(path)
  local f = path and io.open(path, "rb")
  if not f then return nil end
  local text = f:read(4096) or ""
  f:close()
  local last
  for n in text:gmatch("%-?%d+") do last = n end
  return last and math.tointeger(tonumber(last)) or nil
end

--- The exit status the guest wrote to vclaunch.status (an integer), or nil
--- when it wrote none (or the pod has no guest_status).
function M.status(vm)
  if vm.exit then return vm.exit.guest_status end
  return read_status(vm.status_path)
end

--- Called with QEMU's exit status before the runtime dir is removed: adds
--- panicked (true/false) and guest_status to it.
function M.exited(vm, status)
  if status.code == 1 and vm.panic_exits then vm.panicked = true end
  status.panicked = vm.panicked or false
  status.guest_status = read_status(vm.status_path)
end

return M
