-- Save and restore with the test guest: a counter the guest prints keeps
-- counting in a new QEMU started from the saved state, with no second boot.
local vc = require "vclaunch"
local core = require "vclaunch.core"
local guest = assert(os.getenv("VC_GUEST_DIR"), "VC_GUEST_DIR is not set")

vc.options.accel = "tcg"

local tmp = os.tmpname()
os.remove(tmp)
local work = core.rundir("save", tmp)
local state = work .. "/vm.state"

local pod = vc.pod{name = "saved", memory = 256,
                   kernel = {path = guest .. "/vmlinuz", initrd = guest .. "/initrd.img",
                             params = "vc.cmd=shell"}}

-- The number of the last "TICK n" line the console shows.
local function last_tick(vm)
  local n
  for _, line in ipairs(vm.console:history()) do
    n = tonumber(line:match("^TICK (%d+)$")) or n
  end
  return n
end

describe("vm:save and pod:start{restore = path}", function()
  it("continue the guest where it was, without a second boot", function()
    local vm = pod:start()
    vm.console:expect("VCLAUNCH%-GUEST%-READY", 120)
    vm.console:expect("# ", 60)
    vm.console:send("i=0; while :; do echo TICK $i; i=$((i+1)); sleep 0.2; done\n")
    vm.console:expect("^TICK 5$", 60)
    vm:save(state)
    eq(vm:status(), "postmigrate", "left paused after the save")
    local saved_at = last_tick(vm)
    local f = assert(io.open(state, "rb"))
    local size = f:seek("end")
    f:close()
    eq(size > 1024 * 1024, true, "state file size " .. size)
    vm:kill()

    local again = pod:start{restore = state}
    eq(again:status(), "running")
    local line = again.console:expect("^TICK %d+$", 60)
    local n = tonumber(line:match("(%d+)"))
    eq(n > saved_at, true, ("counting on: %d after %d"):format(n, saved_at))
    again.console:expect("^TICK " .. (n + 2) .. "$", 60)
    for _, l in ipairs(again.console:history()) do
      eq(l:find("Linux version", 1, true) == nil, true, "a second boot: " .. l)
      eq(l:find("VCLAUNCH-GUEST-READY", 1, true) == nil, true, "a second boot: " .. l)
    end
    again:kill()
  end)

  it("says why a restore fails", function()
    local bad = work .. "/bad.state"
    local f = assert(io.open(bad, "wb"))
    f:write("not a migration stream")
    f:close()
    local e = expect_error(pod.start, pod, {restore = bad})
    eq(e.kind, "process")
    eq(e.message:match("^saved: restore from .*bad%.state failed %(QEMU status 1%): .+") ~= nil,
       true, e.message)
    local m = expect_error(pod.start, pod, {restore = work .. "/missing.state"})
    eq(m.message:match("restore: .*missing%.state: No such file") ~= nil, true, m.message)
  end)
end)

os.remove(state)
os.remove(work .. "/bad.state")
core.rundir_remove(work)
os.remove(tmp)
