-- A real guest under the vclaunch binary: boot to the marker, pause and
-- resume, shutdown through the ladder, a killed QEMU, a bad option.
local vc = require "vclaunch"
local core = require "vclaunch.core"

local guest = os.getenv("VC_GUEST_DIR") or "build/guest"
vc.options.accel = "tcg" -- KVM hangs on the CI machines; the default stays kvm
vc.options.runtime_dir = os.tmpname() .. ".d"
os.remove(vc.options.runtime_dir:sub(1, -3))

local function pod(params, extra)
  local t = {name = "guest", memory = 256,
             kernel = {path = guest .. "/vmlinuz", initrd = guest .. "/initrd.img",
                       params = params}}
  for k, v in pairs(extra or {}) do t[k] = v end
  return vc.pod(t)
end

local function exists(path)
  local f = io.open(path)
  if f then f:close() end
  return f ~= nil
end

describe("a guest", function()
  it("boots, pauses, resumes and shuts down with status 0", function()
    local vm = pod():start()
    local dir = vm.dir
    eq(exists(dir), true, "runtime dir exists while the VM runs")
    vm.console:expect("VCLAUNCH%-GUEST%-READY", 120)
    eq(vm:status(), "running")
    vm:pause()
    eq(vm:status(), "paused")
    vm:resume()
    eq(vm:status(), "running")
    local status = vm:shutdown{timeout = 30}
    eq(status.code, 0, "exit code")
    vm.console:expect("VCLAUNCH%-GUEST%-POWEROFF", 1)
    eq(exists(dir), false, "runtime dir removed")
  end)

  it("fails a pending command with disconnected when QEMU is killed", function()
    local vm = pod(nil, {freeze = true}):start()
    local dir = vm.dir
    vm.proc:kill(19) -- SIGSTOP: the next command stays unanswered
    local pending = vc.spawn(function() return pcall(vm.execute, vm, "query-status") end)
    -- let the pending task run and write its command (a spawned task starts
    -- on the loop's next timer turn, before this zero sleep ends)
    vc.sleep(0)
    vm.proc:kill(9)
    local ok, err = pending:wait()
    eq(ok, false)
    eq(err.kind, "disconnected", tostring(err))
    eq(vm:wait().signal, 9)
    eq(exists(dir), false, "runtime dir removed")
  end)

  it("reports QEMU's message when QEMU refuses the command line", function()
    local p = pod(nil, {devices = {{"chardev", {backend = "file", id = "c9", path = "/nonexistent/dir/x"}}}})
    local e = expect_error(p.start, p)
    eq(e.kind, "process", tostring(e))
    eq(tostring(e):match("QEMU exited %(status 1%) before QMP was ready") ~= nil, true,
       tostring(e))
  end)

  it("times out console:expect with the last lines", function()
    local vm = pod():start()
    vm.console:expect("VCLAUNCH%-GUEST%-READY", 120)
    local e = expect_error(vm.console.expect, vm.console, "never printed", 0.2)
    eq(e.kind, "timeout")
    eq(tostring(e):match("last lines") ~= nil, true, tostring(e))
    eq(vm:kill().signal, 9)
  end)

  it("hands QEMU values with commas, equals signs and spaces intact", function()
    local base = os.tmpname()
    os.remove(base)
    local path = base .. ",id=evil,x=y z.log"
    local vm = pod(nil, {freeze = true, devices = {
      {"chardev", {backend = "file", id = "esc", path = path}},
    }}):start()
    local labels = {}
    for _, c in ipairs(vm:execute("query-chardev")) do labels[c.label] = true end
    eq(labels.esc, true, "chardev esc exists")
    eq(labels.evil, nil, "no chardev made of the value's pieces")
    eq(exists(path), true, "QEMU created the file at the whole path")
    eq(exists(base), false, "nothing at the path cut at the comma")
    eq(vm:kill().signal, 9)
    os.remove(path)
  end)

  it("runs examples/drive.lua: the README's driving recipe", function()
    local src = os.getenv("VC_SOURCE_DIR") or "."
    local out = {}
    local p = core.process{argv = {os.getenv("VC_BIN"), "--accel", "tcg", "--runtime-dir",
                                   vc.options.runtime_dir, src .. "/examples/drive.lua", guest},
      on_line = function(stream, line)
        if stream == "stdout" then out[#out + 1] = line end
      end}
    local status = p:wait()
    p:close()
    eq(status.code, 0, "exit status")
    eq(table.concat(out, "|"), "running|stopped|true|guest-shutdown|0")
  end)

  it("keeps the last 1000 console lines however many come", function()
    local vm = pod(nil, {freeze = true}):start()
    for n = 1, 2500 do vm.console:_push("line " .. n) end
    local h = vm.console:history()
    eq(#h, 1000)
    eq(h[1], "line 1501")
    eq(h[1000], "line 2500")
    eq(vm.console:expect("^line 2499$", 1), "line 2499")
    vm.console:_push("line 2501")
    eq(vm.console:expect("^line 2501$", 1), "line 2501")
    eq(vm:kill().signal, 9)
  end)

  it("wakes a wait_event at once when the VM exits", function()
    local vm = pod(nil, {freeze = true}):start()
    local t0 = core.now()
    local waiter = vc.spawn(function()
      return pcall(vm.wait_event, vm, "NEVER_SENT", {timeout = 300})
    end)
    vm:kill()
    local ok, err = waiter:wait()
    eq(ok, false)
    eq(err.kind, "disconnected", tostring(err))
    -- woken by the exit, not by its 300 s timeout
    eq(core.now() - t0 < 60, true, "woken after " .. (core.now() - t0) .. " s")
  end)
end)
