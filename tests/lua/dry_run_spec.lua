-- --dry-run has no side effects: a recipe that starts its VMs prints each
-- pod's full argv at pod:start(), the arguments vclaunch adds marked, and
-- stops there: no runtime dir, no log file, no socket, no QEMU. The same
-- recipe without --dry-run, as a control, leaves its marks where the dry
-- run must not.
local core = require "vclaunch.core"
local bin = assert(os.getenv("VC_BIN"), "VC_BIN is not set")

local function tmpdir()
  local d = os.tmpname()
  os.remove(d)
  eq(core.process{argv = {"mkdir", "-p", d}}:wait().code, 0, "mkdir " .. d)
  return d
end

-- Every path under dir (find), sorted, dir itself left out; nil when dir
-- does not exist.
local function tree(dir)
  local out = {}
  local p = core.process{argv = {"find", dir, "-mindepth", "1"}, on_line = function(s, l)
    if s == "stdout" then out[#out + 1] = l end
  end}
  local st = p:wait()
  p:close()
  if st.code ~= 0 then return nil end
  table.sort(out)
  return out
end

local function run(argv)
  local out, err = {}, {}
  local p = core.process{argv = argv, on_line = function(stream, line)
    local t = stream == "stdout" and out or err
    t[#t + 1] = line
  end}
  local st = p:wait(120)
  p:close()
  return st.code, out, table.concat(err, "\n")
end

local function pgrep(pattern)
  local code = run{"pgrep", "-f", pattern}
  return code == 0
end

local name = ("dry%d"):format(math.floor(core.now() * 1000) % 1000000)
local recipe = os.tmpname() .. ".lua"
do
  local f = assert(io.open(recipe, "w"))
  f:write(([[
local vc = require "vclaunch"
local t = vc.spawn(function() return vc.pod{name = "%s-b", memory = "128M", accel = "tcg"}:start() end)
pcall(t.wait, t)
local vm = vc.pod{name = "%s", memory = 128, accel = "tcg"}:start{freeze = true}
vm:execute("quit")
vm:wait(30)
]]):format(name, name))
  f:close()
end

describe("--dry-run", function()
  it("prints each started pod's argv, vclaunch's arguments marked, and leaves nothing", function()
    local base = tmpdir()
    local rundir, state = base .. "/run", base .. "/state"
    local code, out, err = run{"env", "XDG_STATE_HOME=" .. state, "XDG_RUNTIME_DIR=" .. base,
                               bin, "--dry-run", "--runtime-dir", rundir, recipe}
    eq(code, 0, err)
    eq(#out, 4, table.concat(out, "\n"))
    -- the spawned task's pod, then the recipe's own, each with its marker line
    eq(out[1]:match("^qemu%-system%-x86_64 %-name " .. name .. "%-b ") ~= nil, true, out[1])
    eq(out[2]:match("^# " .. name .. "%-b: vclaunch adds at start: ") ~= nil, true, out[2])
    eq(out[3]:match("^qemu%-system%-x86_64 %-name " .. name .. " ") ~= nil, true, out[3])
    local own = ("-chardev socket,id=qmp,fd=3,server=on,wait=off -mon chardev=qmp,mode=control " ..
                 "-pidfile '<runtime-dir>/%s-XXXXXX/pid'"):format(name)
    eq(out[4]:sub(1, #("# " .. name .. ": vclaunch adds at start: " .. own)),
       "# " .. name .. ": vclaunch adds at start: " .. own, out[4])
    eq(out[4]:sub(-3), " -S", "freeze = true at start is vclaunch's -S")
    -- the marked arguments are the full argv's own, in place
    local marked = out[4]:match("^# [^:]+: vclaunch adds at start: (.*)$")
    eq(out[3]:find(marked, 1, true) ~= nil, true, "marked args in the argv")
    eq(tree(rundir), nil, "no runtime dir")
    eq(tree(state), nil, "no state (log) dir")
    eq(#tree(base), 0, "nothing under " .. base)
    eq(pgrep("-name " .. name), false, "no QEMU named " .. name)

    -- json: one object per pod, the added arguments a field of it
    code, out, err = run{"env", "XDG_STATE_HOME=" .. state, "XDG_RUNTIME_DIR=" .. base,
                         bin, "--dry-run=json", "--runtime-dir", rundir, recipe}
    eq(code, 0, err)
    eq(#out, 2, table.concat(out, "\n"))
    local d = core.json_decode(out[2])
    eq(d.name, name)
    eq(d.argv[d.vclaunch_args_at + 1], "-chardev")
    eq(d.argv[d.vclaunch_args_at + 2], "socket,id=qmp,fd=3,server=on,wait=off")
    eq(table.concat(d.vclaunch_args, " "),
       table.concat(d.argv, " ", d.vclaunch_args_at + 1, d.vclaunch_args_at + #d.vclaunch_args))
    eq(#tree(base), 0, "nothing under " .. base)
  end)

  it("(control: the same recipe run for real makes the runtime dir)", function()
    local base = tmpdir()
    local rundir, state = base .. "/run", base .. "/state"
    local code, _, err = run{"env", "XDG_STATE_HOME=" .. state, "XDG_RUNTIME_DIR=" .. base,
                             bin, "--runtime-dir", rundir, recipe}
    eq(code, 0, err)
    eq(tree(rundir) ~= nil, true, "the runtime dir was made")
    eq(pgrep("-name " .. name), false, "no QEMU left")
  end)
end)
os.remove(recipe)
