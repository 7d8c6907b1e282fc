-- virtio-fs volumes without a socket: vclaunch starts virtiofsd for each,
-- on a socket in the VM's runtime dir, and the test guest (q35, TCG, its
-- shell on the console) mounts them, reads what the host wrote, writes
-- what the host then reads, and cannot write to a read-only one (or, with
-- QEMU 7.2's C virtiofsd, which has no read-only mode, vclaunch refuses
-- readonly). A virtiofsd that dies while the VM runs stops the VM with a
-- message on stderr (a child vclaunch, so that its stderr can be read),
-- and one that dies before the VM is up fails the start with its words.
local vc = require "vclaunch"
local core = require "vclaunch.core"
local helpers = require "vclaunch.helpers"
local guest = assert(os.getenv("VC_GUEST_DIR"), "VC_GUEST_DIR is not set")
local bin = assert(os.getenv("VC_BIN"), "VC_BIN is not set")
local shell = dofile(assert(os.getenv("VC_SOURCE_DIR"), "VC_SOURCE_DIR is not set") ..
                     "/tests/lua/guest_shell.lua")
local sh = shell.sh

vc.options.accel = "tcg"

local tmp = os.tmpname()
os.remove(tmp)
local work = core.rundir("virtiofs", tmp)
local rw, ro = work .. "/rw", work .. "/ro"

local function run_cmd(argv)
  local out = {}
  local p = core.process{argv = argv, on_line = function(_, line) out[#out + 1] = line end}
  local st = p:wait(30)
  p:close()
  return st.code, table.concat(out, "\n")
end

local function write(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

local function read(path)
  local f = io.open(path)
  if not f then return nil end
  local text = f:read("a")
  f:close()
  return text
end

local alive = dofile(assert(os.getenv("VC_SOURCE_DIR"), "VC_SOURCE_DIR is not set") ..
                   "/tests/lua/alive.lua")

-- Waits (up to 10 s) until pid is gone.
local function gone(pid)
  local deadline = core.now() + 10
  while alive(pid) and core.now() < deadline do vc.sleep(0.05) end
  return not alive(pid)
end

assert(run_cmd{"mkdir", rw, ro} == 0)
local token = ("vfs-%08x"):format(math.random(0, 0x7fffffff))
write(rw .. "/from-host.txt", token .. "-rw\n")
write(ro .. "/from-host.txt", token .. "-ro\n")

local virtiofsd = helpers.find_virtiofsd({})
local _, help = run_cmd{virtiofsd or "false", "--help"}
local has_readonly = help:find("--readonly", 1, true) ~= nil

local function spec(name, fields)
  local t = {name = name, memory = 256,
             kernel = {path = guest .. "/vmlinuz", initrd = guest .. "/initrd.img",
                       params = "vc.cmd=shell"}}
  for k, v in pairs(fields or {}) do t[k] = v end
  return t
end

describe("virtio-fs volumes vclaunch serves", function()
  it("finds a virtiofsd on this host", function()
    eq(virtiofsd ~= nil, true, "virtiofsd on PATH or at " ..
       table.concat(helpers.VIRTIOFSD_PATHS, ", ") .. " (setup.sh installs qemu-system-common)")
  end)

  it("names the socket by its file name before start, and in the runtime dir at start", function()
    local pod = vc.pod(spec("vfs-argv", {freeze = true,
      volumes = {{type = "virtio-fs", host_path = rw, tag = "rw"}}}))
    local text = table.concat(pod:argv(), " ")
    eq(text:find("socket,id=vhost-user-fs0,path=vfsd-1.sock ", 1, true) ~= nil, true, text)
    eq(text:find("memory-backend-memfd,id=mem0,size=256M,share=on", 1, true) ~= nil, true, text)
    local vm = pod:start()
    local sock = vm.dir .. "/vfsd-1.sock"
    text = table.concat(vm.argv, " ")
    eq(text:find("path=" .. sock .. " ", 1, true) ~= nil, true, text)
    local pids = vm:pids()
    eq(pids.qemu, vm.proc:pid(), "pids().qemu")
    eq(#pids.helpers, 1, "one helper")
    local h = pids.helpers[1]
    eq(h.name, "virtiofsd")
    eq(h.tag, "rw")
    eq(alive(h.pid), true, "virtiofsd runs")
    local cmdline = read("/proc/" .. h.pid .. "/cmdline") or ""
    eq(cmdline:find("source=" .. rw .. "\0", 1, true) ~= nil, true, "virtiofsd serves " .. rw)
    eq(cmdline:find("cache=auto\0", 1, true) ~= nil, true, "the default cache mode")
    -- a virtiofsd that does not end with QEMU (stopped here: it would
    -- stay) is stopped by vclaunch, SIGKILL after the grace
    eq(run_cmd{"kill", "-STOP", tostring(h.pid)}, 0, "kill -STOP")
    vm:execute("quit")
    eq(vm:wait(30).code, 0, "QEMU's exit")
    eq(gone(h.pid), true, "virtiofsd is gone once QEMU is")
    eq(vm:pids().qemu, nil, "no QEMU pid after the exit")
    eq(#vm:pids().helpers, 0, "no helper pid after the exit")
    eq(run_cmd{"test", "-e", sock}, 1, "the socket is gone with the runtime dir")
  end)

  local second = has_readonly and {type = "virtio-fs", host_path = ro, tag = "ro", readonly = true}
                 or {type = "virtio-fs", host_path = ro, tag = "ro", cache = "always"}

  it("shares two directories the guest mounts, reads and writes", function()
    local vm = shell.boot("vfs-guest", {volumes = {
      {type = "virtio-fs", host_path = rw, tag = "rw", cache = "none"}, second}})
    local pids = vm:pids()
    eq(#pids.helpers, 2, "two helpers")
    eq(pids.helpers[1].tag .. "," .. pids.helpers[2].tag, "rw,ro", "their tags")
    eq(table.concat(sh(vm, "mkdir -p /mnt/rw /mnt/ro && mount -t virtiofs rw /mnt/rw && " ..
                           "mount -t virtiofs ro /mnt/ro && echo mounted"), "\n"), "mounted")
    eq(sh(vm, "cat /mnt/rw/from-host.txt")[1], token .. "-rw", "the rw share's host file")
    eq(sh(vm, "cat /mnt/ro/from-host.txt")[1], token .. "-ro", "the ro share's host file")
    sh(vm, ("echo %s-guest > /mnt/rw/from-guest.txt && sync"):format(token))
    eq(read(rw .. "/from-guest.txt"), token .. "-guest\n", "the guest's file on the host")
    if has_readonly then
      local out = sh(vm, "echo x > /mnt/ro/from-guest.txt; echo rc=$?")
      eq(out[#out], "rc=1", "a write to the read-only share fails: " .. table.concat(out, "|"))
      eq(read(ro .. "/from-guest.txt"), nil, "nothing written to the read-only share")
    else
      print(("skip: a write to a read-only virtio-fs share: %s has no --readonly (the case " ..
             "below checks that vclaunch refuses readonly)"):format(virtiofsd))
    end
    vm.console:send("umount /mnt/rw /mnt/ro; poweroff -f\n")
    eq(vm:wait(60).code, 0, "QEMU's exit at the guest's poweroff")
    -- virtiofsd ends when QEMU closes the connection, which may be seen
    -- before QEMU's own exit: that is not a helper's death
    for _, ev in ipairs(vm:events()) do
      eq(ev.event ~= "helper-exit", true, "a helper-exit event at a clean poweroff")
    end
    for _, h in ipairs(pids.helpers) do eq(gone(h.pid), true, "virtiofsd " .. h.tag .. " gone") end
  end)

  if not has_readonly then
    it("refuses readonly with a virtiofsd that has no read-only mode, before QEMU", function()
      local e = expect_error(function()
        vc.pod(spec("vfs-ro", {freeze = true, volumes = {
          {type = "virtio-fs", host_path = rw, tag = "rw"},
          {type = "virtio-fs", host_path = ro, tag = "ro", readonly = true}}})):start()
      end)
      eq(e.kind, "recipe")
      eq(e.message:find("pod.volumes[2].readonly: " .. virtiofsd .. " has no read-only mode", 1,
                        true) ~= nil, true, e.message)
    end)
  end

  it("fails the start with virtiofsd's words when it dies before the VM is up", function()
    -- ls stands in for a virtiofsd that refuses its options
    local e = expect_error(function()
      vc.pod(spec("vfs-early", {freeze = true, virtiofsd = "/bin/ls",
        volumes = {{type = "virtio-fs", host_path = rw, tag = "early"}}})):start()
    end)
    eq(e.kind, "process")
    eq(e.message:find("vfs-early: virtiofsd for tag 'early' (pod.volumes[1]) exited (status 2) " ..
                      "before the VM was up: ", 1, true) ~= nil, true, e.message)
    eq(e.message:find("--fd=3", 1, true) ~= nil, true, "ls's own words: " .. e.message)
  end)

  it("stops virtiofsd when QEMU fails to start", function()
    local dir = work .. "/fail"
    assert(run_cmd{"mkdir", dir} == 0)
    local e = expect_error(function()
      vc.pod(spec("vfs-fail", {freeze = true, extra_args = {"-no-such-option"},
        volumes = {{type = "virtio-fs", host_path = dir, tag = "f"}}})):start()
    end)
    eq(e.kind, "process")
    eq(e.message:find("-no-such-option", 1, true) ~= nil, true, "QEMU's words: " .. e.message)
    -- the virtiofsd that served dir, found by its command line
    local function serving()
      local _, pids = run_cmd{"pgrep", "-f", "source=" .. dir}
      return pids
    end
    local deadline = core.now() + 10
    while serving() ~= "" and core.now() < deadline do vc.sleep(0.1) end
    eq(serving(), "", "virtiofsd processes for " .. dir)
    assert(run_cmd{"rmdir", dir} == 0)
  end)

  it("refuses a host_path that is not a directory, before anything starts", function()
    local e = expect_error(function()
      vc.pod(spec("vfs-nodir", {freeze = true,
        volumes = {{type = "virtio-fs", host_path = rw .. "/from-host.txt", tag = "f"}}})):start()
    end)
    eq(e.kind, "recipe")
    eq(e.message:find("pod.volumes[1].host_path: " .. rw .. "/from-host.txt is not a directory",
                      1, true) ~= nil, true, e.message)
  end)

  -- vm:hotplug of a volume without a socket: vclaunch starts its virtiofsd
  -- (as pod:start() does), then chardev-add + device_add; vm:unplug removes
  -- them and stops that virtiofsd.
  it("hot-plugs a volume it serves: mounted in the guest, unplugged, its virtiofsd gone", function()
    local vm = shell.boot("vfs-hot", {hotplug_vhost_user = true})
    eq(#vm:pids().helpers, 0, "no helper before the hot-plug")
    local item = {type = "virtio-fs", host_path = rw, tag = "hot"}
    local d = vm:hotplug("volumes", item)
    eq(d.kind, "vhost-user-fs")
    eq(d.bus, "rp0")
    local hs = vm:pids().helpers
    eq(#hs, 1, "one helper")
    eq(hs[1].tag, "hot")
    local pid = hs[1].pid
    eq(alive(pid), true, "virtiofsd runs")
    local cmdline = read("/proc/" .. pid .. "/cmdline") or ""
    eq(cmdline:find("source=" .. rw .. "\0", 1, true) ~= nil, true, "virtiofsd serves " .. rw)
    local sock = vm.dir .. "/vfsd-1.sock"
    eq(run_cmd{"test", "-S", sock}, 0, "its socket in the runtime dir")
    -- (until_ runs the condition again once it holds: mount only once)
    local mount = "grep -q ' /mnt/hot ' /proc/mounts || mount -t virtiofs hot /mnt/hot 2>/dev/null"
    sh(vm, "mkdir -p /mnt/hot")
    eq(shell.until_(vm, mount), true, "the guest mounts tag hot")
    eq(sh(vm, "cat /mnt/hot/from-host.txt")[1], token .. "-rw", "the host's file")
    sh(vm, "umount /mnt/hot")
    vm:unplug(d)
    eq(gone(pid), true, "virtiofsd is gone after the unplug")
    eq(#vm:pids().helpers, 0, "no helper after the unplug")
    eq(run_cmd{"test", "-e", sock}, 1, "its socket is gone")
    eq(shell.until_(vm, "! grep -qx 0x105a /sys/bus/pci/devices/*/device"), true,
       "the guest sees the virtio-fs device gone")
    -- and again, into the freed place, with a virtiofsd of its own
    d = vm:hotplug("volumes", item)
    eq(d.bus, "rp0")
    eq(#vm:pids().helpers, 1, "one helper again")
    eq(shell.until_(vm, mount), true, "mounted again")
    eq(sh(vm, "cat /mnt/hot/from-host.txt")[1], token .. "-rw", "the host's file again")
    pid = vm:pids().helpers[1].pid
    vm.console:send("poweroff -f\n")
    eq(vm:wait(60).code, 0, "QEMU's exit")
    eq(gone(pid), true, "virtiofsd is gone with QEMU")
  end)
end)

describe("virtio-fs fields checked at pod()", function()
  local function refused(volume, want)
    local e = expect_error(vc.pod, spec("vfs-check", {volumes = {volume}}))
    eq(e.kind, "recipe")
    eq(e.message:find(want, 1, true) ~= nil, true, e.message)
  end
  it("refuses cache on 9p, and cache or readonly beside a socket", function()
    refused({host_path = rw, tag = "t", cache = "none"},
            "pod.volumes[1].cache: goes with type = \"virtio-fs\"")
    refused({type = "virtio-fs", host_path = rw, tag = "t", socket = "/s", cache = "none"},
            "pod.volumes[1].cache: is an option of the virtiofsd vclaunch starts")
    refused({type = "virtio-fs", host_path = rw, tag = "t", socket = "/s", readonly = true},
            "pod.volumes[1].readonly: the virtiofsd on socket decides")
    refused({type = "virtio-fs", host_path = rw, tag = "t", cache = "sometimes"},
            "pod.volumes[1]: field 'cache': \"sometimes\" is not one of: none, auto, always")
    refused({type = "virtio-fs", host_path = "/a,b", tag = "t"},
            "pod.volumes[1].host_path: holds a comma or a backslash")
  end)
end)

-- A child vclaunch runs the recipe: its stderr is the subject.
local function run(recipe)
  local path = work .. "/recipe.lua"
  write(path, recipe)
  local out, err = {}, {}
  local p = core.process{argv = {bin, "--accel", "tcg", path}, on_line = function(stream, line)
    local t = stream == "stdout" and out or err
    t[#t + 1] = line
  end}
  local status = p:wait(180)
  p:close()
  return status.code, table.concat(out, "\n"), table.concat(err, "\n")
end

local KILL = [[
local vc = require "vclaunch"
local core = require "vclaunch.core"
local keep = %s
local vm = vc.pod{name = "vfskill", memory = 256, freeze = true,
  kernel = {path = %q, initrd = %q},
  volumes = {{type = "virtio-fs", host_path = %q, tag = "share"}}}:start{
  helper_exit = keep and "keep" or nil}
local seen
vm:on("helper-exit", function(ev) seen = ev end)
local h = vm:pids().helpers[1]
print("qemu", vm:pids().qemu)
print("virtiofsd", h.pid)
local died = vm:arm_event("helper-exit")
local k = core.process{argv = {"kill", "-9", tostring(h.pid)}}
k:wait(10)
k:close()
local ev = died:wait(30)
print("event", ev.event, ev.data.name, ev.data.tag, ev.data.status.signal, seen == ev)
if keep then
  vc.sleep(2)
  print("status", vm:status())
  vm:execute("quit")
end
local st = vm:wait(30)
print("exit", st.code, st.signal)
]]

describe("a virtiofsd that dies while the VM runs", function()
  local function recipe(keep)
    return KILL:format(tostring(keep), guest .. "/vmlinuz", guest .. "/initrd.img", rw)
  end

  it("is an event, and the VM is stopped with the reason on stderr", function()
    local code, out, err = run(recipe(false))
    eq(code, 0, out .. "\n" .. err)
    eq(out:find("event\thelper-exit\tvirtiofsd\tshare\t9\ttrue", 1, true) ~= nil, true, out)
    -- stopped by vclaunch (quit over QMP): QEMU's exit status 0, not a signal
    eq(out:find("exit\t0\tnil", 1, true) ~= nil, true, out)
    eq(err:find("vclaunch: vfskill: virtiofsd for tag 'share' exited (signal 9): stopping the VM",
                1, true) ~= nil, true, err)
    local qemu = tonumber(out:match("qemu\t(%d+)"))
    eq(qemu ~= nil and not alive(qemu), true, "QEMU is gone")
  end)

  it("leaves the VM running with helper_exit = \"keep\"", function()
    local code, out, err = run(recipe(true))
    eq(code, 0, out .. "\n" .. err)
    eq(out:find("event\thelper-exit\tvirtiofsd\tshare\t9\ttrue", 1, true) ~= nil, true, out)
    eq(out:find("status\tprelaunch", 1, true) ~= nil, true, "the frozen VM still there: " .. out)
    eq(err:find("stopping the VM", 1, true), nil, err)
  end)
end)

assert(run_cmd{"rm", "-r", rw, ro} == 0)
core.rundir_remove(work)
os.remove(tmp)
