-- The vclaunch binary seen from outside: options, dry runs, recipe errors.
local core = require "vclaunch.core"
local bin = assert(os.getenv("VC_BIN"), "VC_BIN is not set")

local function run(args, recipe)
  local path
  if recipe then
    path = os.tmpname() .. ".lua"
    local f = assert(io.open(path, "w"))
    f:write(recipe)
    f:close()
  end
  local argv = {bin}
  for _, a in ipairs(args) do argv[#argv + 1] = a == "RECIPE" and path or a end
  local out, err = {}, {}
  local p = core.process{argv = argv, on_line = function(stream, line)
    local t = stream == "stdout" and out or err
    t[#t + 1] = line
  end}
  local status = p:wait()
  p:close()
  if path then os.remove(path) end
  return status.code, table.concat(out, "\n"), table.concat(err, "\n"), path
end

local POD = [[
local vc = require "vclaunch"
return vc.pod{name = "dry", vcpus = 2, max_vcpus = 4, memory = 128, hotplug_ports = 0,
              kernel = {path = "/k,1", params = "a=b c"}}
]]

describe("vclaunch", function()
  it("prints --version and --help", function()
    local code, out = run{"--version"}
    eq(code, 0)
    eq(out, "vclaunch 0.1.0")
    code, out = run{"--help"}
    eq(code, 0)
    eq(out:match("^usage: vclaunch %[options%] recipe.lua") ~= nil, true, out)
  end)

  it("refuses an unknown option and a missing recipe with status 64 (usage)", function()
    local code, _, err = run{"--bogus"}
    eq(code, 64)
    eq(err:match("unknown option '%-%-bogus'") ~= nil, true, err)
    code, _, err = run{}
    eq(code, 64)
    eq(err:match("no recipe given") ~= nil, true, err)
  end)

  it("prints the QEMU command with --dry-run, shell-quoted and as JSON", function()
    local code, out = run({"--dry-run", "--accel", "tcg", "RECIPE"}, POD)
    eq(code, 0)
    eq(out, "qemu-system-x86_64 -name dry -machine q35,accel=tcg -cpu max " ..
            "-smp 2,sockets=4,cores=1,threads=1,maxcpus=4 -m 128M -nodefaults " ..
            "-no-user-config -display none -action reboot=shutdown,panic=exit-failure " ..
            "-chardev stdio,id=console -serial chardev:console " ..
            "-kernel /k,1 -append 'console=ttyS0 quiet panic=-1 a=b c' -device pvpanic,id=pvpanic0")
    code, out = run({"--dry-run=json", "--accel=tcg", "RECIPE"}, POD)
    eq(code, 0)
    eq(out:find('["qemu-system-x86_64","-name","dry","-machine"', 1, true), 1, out)
  end)

  it("reports a recipe error on one line with file:line", function()
    local code, out, err, path = run({"RECIPE"}, [[
local vc = require "vclaunch"
local pod = vc.pod{name = "x", vcpuz = 2}
return pod
]])
    eq(code, 65)
    eq(err, "vclaunch: " .. path .. ":2: pod: unknown field 'vcpuz' (did you mean 'vcpus'?)")
  end)

  it("reports invalid pods with their messages", function()
    local cases = {
      {"vcpus = 4, max_vcpus = 2", "pod: vcpus (4) is above max_vcpus (2)"},
      {"max_vcpus = 999", "pod: max_vcpus (999) is above amd64's limit (240)"},
      {"memory = 512, max_memory = 256", "pod: max_memory is below memory"},
      {"machine = 'pc99'", "pod: machine 'pc99' is not one of amd64's: microvm, pc, q35"},
      {"name = '1vm'", "pod name '1vm' must start with a letter"},
      {"vcpus = '2'", "pod: field 'vcpus' must be a number, got a string"},
      {"kernel = {path = '/k', parms = 'x'}", "pod.kernel: unknown field 'parms' (did you mean 'params'?)"},
      {"kernel = {path = '/k\\n'}", "pod.kernel: field 'path': holds a control character (0x0a)"},
      {"devices = {{'chardev', {backend = 'tcp'}}}",
       "chardev: field 'backend': \"tcp\" is not one of: socket, pipe, file, pty, null, stdio"},
      {"devices = {{'vhost-vsock', {guest_cid = 2}}}",
       "vhost-vsock: field 'guest_cid': 2 is out of range (3 to 4294967295)"},
    }
    for _, c in ipairs(cases) do
      local code, _, err, path = run({"--dry-run", "RECIPE"},
        "local pod = require('vclaunch').pod{" .. c[1] .. "}\nreturn pod\n")
      eq(code, 65, c[1])
      eq(err, "vclaunch: " .. path .. ":1: " .. c[2], c[1])
    end
  end)

  it("prints the kitchen-sink example with --dry-run", function()
    local root = os.getenv("VC_SOURCE_DIR") or "."
    local dir = os.tmpname()
    os.remove(dir)
    eq(core.process{argv = {"mkdir", dir}}:wait().code, 0)
    local code, out, err = run{"--dry-run=json", "--accel", "tcg",
                               root .. "/examples/kitchen-sink.lua", "/guest", dir}
    for _, f in ipairs{"rootfs", "data", "scsi"} do
      os.remove(dir .. "/kitchen-sink-" .. f .. ".raw")
    end
    os.remove(dir)
    eq(code, 0, err)
    eq(out:find('["qemu-system-x86_64","-name","kitchen-sink","-uuid",', 1, true), 1, out)
    eq(out:find('"-device","intel-iommu,id=iommu0"', 1, true) ~= nil, true, out)
    local tail = '"-object","iothread,id=io0","-device","virtio-keyboard-pci,id=kbd0"]'
    eq(out:sub(-#tail), tail, out)
  end)

  it("refuses a raw argument that repeats one vclaunch sets", function()
    local code, _, err, path = run({"--dry-run", "RECIPE"}, [[
local vc = require "vclaunch"
local pod = vc.pod{name = "x", extra_args = {"-smp", "4"}}
return pod
]])
    eq(code, 65)
    eq(err, "vclaunch: " .. path .. ":2: pod.extra_args[1]: '-smp' conflicts with what " ..
            "vclaunch sets: pod.vcpus")
  end)

  it("passes recipe arguments in arg and ...", function()
    local code, out = run({"RECIPE", "a", "b c"}, "print(arg[1], arg[2], select('#', ...))\n")
    eq(code, 0)
    eq(out, "a\tb c\t2")
  end)
end)

local function lines(text)
  local t = {}
  for l in text:gmatch("[^\n]+") do t[#t + 1] = l end
  return t
end

describe("vclaunch --kinds", function()
  it("lists every kind once, sorted, with its doc", function()
    local code, text = run{"--kinds"}
    local out = lines(text)
    eq(code, 0)
    local n = 0
    for _ in pairs(core.kinds()) do n = n + 1 end
    eq(#out, n, "one line per kind")
    eq(n, 65, "the README's count of kinds")
    local prev = ""
    for _, line in ipairs(out) do
      local name = line:match("^(%S+)")
      eq(name > prev, true, "sorted: " .. name .. " after " .. prev)
      prev = name
    end
    eq(out[1], "action                 -action: what QEMU does on guest reboot, shutdown, panic, watchdog")
  end)

  it("lists one kind's fields with type, required, default and values", function()
    local code, text = run{"--kinds", "virtio-9p"}
    local out = lines(text)
    eq(code, 0)
    eq(out[1], "virtio-9p: virtio-9p: a host directory shared over 9p")
    eq(out[2], "  id                       id                 required; id of the fsdev the device exports")
    eq(out[4], "  security_model           none|passthrough|mapped-xattr|mapped-file default none")
  end)

  it("refuses an unknown kind with status 64 (usage)", function()
    local code, out, err = run{"--kinds", "virtio-bogus"}
    eq(code, 64)
    eq(out, "")
    eq(err, "vclaunch: --kinds: unknown device kind 'virtio-bogus'")
  end)
end)

describe("vclaunch --log-level", function()
  local RECIPE = [[
local vc = require "vclaunch"
local vm = vc.pod{name = "logged", memory = 128, freeze = true}:start()
vm:execute("quit")
vm:wait()
]]
  it("says nothing but errors by default", function()
    local code, _, err = run({"--accel", "tcg", "RECIPE"}, RECIPE)
    eq(code, 0)
    eq(err, "")
  end)
  it("info: each QEMU's start (with its kept log), QMP ready, exit", function()
    local code, _, err = run({"--accel", "tcg", "--log-level", "info", "RECIPE"}, RECIPE)
    eq(code, 0)
    local l = lines(err)
    eq(#l, 3, err)
    eq(l[1]:match("^vclaunch: logged: QEMU started, pid %d+, runtime dir /.+/logged%-%w+, " ..
                  "log /.+/vclaunch/logged%-%d+%-%d+%-%d+%.log$") ~= nil, true, l[1])
    eq(l[2]:match("^vclaunch: logged: QMP ready in %d+%.%d%d s$") ~= nil, true, l[2])
    eq(l[3], "vclaunch: logged: QEMU exited (status 0)")
  end)
  it("debug: also the command line", function()
    local code, _, err = run({"--accel", "tcg", "--log-level=debug", "RECIPE"}, RECIPE)
    eq(code, 0)
    local l = lines(err)
    eq(#l, 4, err)
    eq(l[2]:match("^vclaunch: logged: qemu%-system%-x86_64 %-name logged ") ~= nil, true, l[2])
  end)
end)

describe("vclaunch error positions", function()
  it("a tail call `return vc.pod{...}` still names the recipe's line", function()
    local code, _, err, path = run({"RECIPE"}, [[
local vc = require "vclaunch"
local x = 1
return vc.pod{vcpuz = 2}
]])
    eq(code, 65)
    eq(err, "vclaunch: " .. path .. ":3: pod: unknown field 'vcpuz' (did you mean 'vcpus'?)")
    code, _, err, path = run({"RECIPE"}, [[
local vc = require "vclaunch"

return vc.pod "not a table"
]])
    eq(code, 65)
    eq(err, "vclaunch: " .. path .. ":3: vclaunch.pod: expected a table")
  end)

  it("a QMP error from vm:execute names the recipe's line", function()
    local code, _, err, path = run({"--accel", "tcg", "RECIPE"}, [[
local vc = require "vclaunch"
local vm = vc.pod{name = "e", memory = 128, freeze = true}:start()
vm:execute("device_del", {id = "nope"})
]])
    eq(code, 65)
    eq(err, "vclaunch: " .. path .. ":3: device_del: Device 'nope' not found (DeviceNotFound)")
  end)
  it("a start that fails names the recipe's line only", function()
    local code, _, err, path = run({"--accel", "tcg", "RECIPE"}, [[
local vc = require "vclaunch"
local a = vc.arch("amd64"):extend{binary = "/nonexistent/qemu"}
local vm = vc.pod{arch = a, name = "e", memory = 128}:start()
]])
    eq(code, 69) -- QEMU could not be started
    eq(err, "vclaunch: " .. path .. ":3: cannot start /nonexistent/qemu: No such file or directory")
  end)
end)

describe("vclaunch at exit", function()
  -- In the sanitizer tree a leak fails the run (LeakSanitizer's exit status).
  it("releases the timers of tasks still sleeping or waiting when the loop stops", function()
    local code, out, err = run({"RECIPE"}, [[
local core = require "vclaunch.core"
local c = core.cond()
core.spawn(function() core.sleep(100) end)
core.spawn(function() c:wait(100) end)
core.sleep(0.01)
print("stopping")
core.stop()
core.sleep(100)
]])
    eq(err, "")
    eq(out, "stopping")
    eq(code, 0)
  end)
end)
