-- Safe defaults with the real test guest: drives without a format are
-- probed (a qcow2 is refused and left as it was, a raw file works), a
-- panic and a reboot end QEMU, and the guest's exit status comes back
-- through the vclaunch.status port, to a recipe and from the CLI.
local vc = require "vclaunch"
local core = require "vclaunch.core"

local guest = assert(os.getenv("VC_GUEST_DIR"), "VC_GUEST_DIR is not set")
local bin = assert(os.getenv("VC_BIN"), "VC_BIN is not set")
vc.options.accel = "tcg" -- KVM hangs on the CI machines
local rundir = os.tmpname()
os.remove(rundir)
vc.options.runtime_dir = rundir

local scratch = os.tmpname()
os.remove(scratch)

-- Runs argv to its end; returns its exit status and its stdout and
-- stderr lines.
local function run(argv)
  local out, err = {}, {}
  local p = core.process{argv = argv, on_line = function(stream, line)
    local t = stream == "stdout" and out or err
    t[#t + 1] = line
  end}
  local st = p:wait(300)
  p:close()
  return st, out, err
end

local function sh(...)
  local st, out, err = run{...}
  eq(st.code, 0, table.concat({...}, " ") .. ": " .. table.concat(err, "\n"))
  return out
end

local function sha256(path) return sh("sha256sum", path)[1]:match("^%x+") end

local function pod(params, extra)
  local t = {name = "gs", memory = 256,
             kernel = {path = guest .. "/vmlinuz", initrd = guest .. "/initrd.img", params = params}}
  for k, v in pairs(extra or {}) do t[k] = v end
  return vc.pod(t)
end

-- A recipe file for the CLI: the test guest with vc.cmd=<cmd>, returned
-- to run in the foreground.
local function recipe(cmd, fields)
  local path = scratch .. "/" .. cmd:gsub("%W", "_") .. ".lua"
  local f = assert(io.open(path, "w"))
  f:write(([[
local vc = require "vclaunch"
return vc.pod{name = "cli", memory = 256, %s
              kernel = {path = %q, initrd = %q, params = %q}}
]]):format(fields or "", guest .. "/vmlinuz", guest .. "/initrd.img", "vc.cmd=" .. cmd))
  f:close()
  return path
end

local function cli(path)
  local t0 = core.now()
  local st, out, err = run{bin, "--accel", "tcg", "--runtime-dir", rundir, path}
  return st, out, err, core.now() - t0
end

local function has_line(lines, pattern)
  for _, l in ipairs(lines) do
    if l:find(pattern) then return true end
  end
  return false
end

sh("mkdir", "-p", scratch)
local qcow2 = scratch .. "/disk.qcow2"
sh("qemu-img", "create", "-q", "-f", "qcow2", qcow2, "16M")
local raw = scratch .. "/disk.raw"
sh("truncate", "-s", "8M", raw)

describe("drives without a format", function()
  it("refuses a qcow2 made by qemu-img, naming qcow2, and leaves it as it was", function()
    local before = sha256(qcow2)
    local e = expect_error(pod, nil, {drives = {{file = qcow2}}})
    eq(e.kind, "recipe")
    eq(e.message:find(("pod.drives[1].format: file %s holds a qcow2 image"):format(qcow2), 1,
                      true) ~= nil, true, e.message)
    eq(e.message:find('set format = "qcow2"', 1, true) ~= nil, true, e.message)
    eq(sha256(qcow2), before, "the image is unchanged")
    -- with its format it is a pod like any other
    eq(pod(nil, {drives = {{file = qcow2, format = "qcow2"}}}).name, "gs")
    -- what cannot be read is said so
    e = expect_error(pod, nil, {drives = {{file = scratch .. "/none.img"}}})
    eq(e.message:find("none.img cannot be read: No such file or directory", 1, true) ~= nil,
       true, e.message)
  end)

  it("attaches a raw file with no header; vm:hotplug probes as pod() does", function()
    local before = sha256(qcow2)
    local vm <close> = pod("vc.cmd=info", {drives = {{file = raw, serial = "vcraw"}},
                                          guest_status = true, bridges = 1}):start()
    -- the hot-plug is refused before anything reaches QEMU
    local e = expect_error(vm.hotplug, vm, "drives", {file = qcow2})
    eq(e.message:find("pod.drives[2].format: file " .. qcow2 .. " holds a qcow2 image", 1,
                      true) ~= nil, true, e.message)
    vm.console:expect("^block vda: size=16384 serial=vcraw$", 120)
    vm.console:expect("^port vport%d+p1: vclaunch.status$", 60)
    local st = vm:wait(120)
    eq(st.code, 0)
    eq(st.panicked, false)
    eq(vm:guest_status(), nil, "the guest wrote no status")
    eq(sha256(qcow2), before, "the image is unchanged")
  end)
end)

describe("the guest's end", function()
  it("vc.cmd=exit:7: vm:guest_status() is 7 and QEMU exits 0", function()
    local vm = pod("vc.cmd=exit:7", {guest_status = true}):start()
    local st = vm:wait(120)
    eq(st.code, 0)
    eq(st.guest_status, 7)
    eq(vm:guest_status(), 7)
    eq(vm.panicked, false)
  end)

  it("vc.cmd=panic: QEMU exits at once with status 1, vm.panicked", function()
    local vm = pod("vc.cmd=panic"):start()
    vm.console:expect("VCLAUNCH%-GUEST%-READY", 120)
    local t0 = core.now()
    local st = vm:wait(60) -- a guest rebooting for ever would time out here
    eq(st.code, 1)
    eq(st.panicked, true)
    eq(vm.panicked, true)
    local panicked = false
    for _, ev in ipairs(vm:events()) do
      if ev.event == "GUEST_PANICKED" then panicked = true end
    end
    eq(panicked, true, "GUEST_PANICKED event")
    eq(core.now() - t0 < 60, true)
  end)

  it("reboot -f ends the VM unless the pod asks for reboots", function()
    local vm = pod("vc.cmd=reboot"):start()
    local st = vm:wait(120)
    eq(st.code, 0)
    local reason
    for _, ev in ipairs(vm:events()) do
      if ev.event == "SHUTDOWN" then reason = ev.data.reason end
    end
    eq(reason, "guest-reset")

    vm = pod("vc.cmd=reboot", {reboot = true}):start()
    local reset = vm:arm_event("RESET")
    eq(reset:wait(120).data.reason, "guest-reset")
    -- the machine was reset and runs on: it is not the end of the VM
    eq(vm:status(), "running")
    eq(vm.exit, nil)
    eq(vm:kill().signal, 9)
  end)
end)

describe("the CLI", function()
  it("exits with the status the guest wrote (guest_status = true)", function()
    local st, _, err = cli(recipe("exit:7", "guest_status = true,"))
    eq(st.code, 7, table.concat(err, "\n"))
  end)

  it("exits 79 when the guest panics, at once", function()
    local st, out, err, took = cli(recipe("panic"))
    eq(st.code, 79, table.concat(err, "\n"))
    eq(has_line(err, "^vclaunch: cli: the guest panicked$"), true, table.concat(err, "\n"))
    eq(has_line(out, "Kernel panic"), true)
    eq(took < 120, true, ("took %.1f s"):format(took))
  end)
end)

sh("rm", "-rf", scratch)
