-- Helpers shared by the tests/arch specs. A spec loads them with
--   local h = dofile((os.getenv("VC_SOURCE_DIR") or ".") .. "/tests/arch/helpers.lua")
-- and runs under tests/lua/harness.lua, whose globals (eq, expect_error)
-- these use. Expected argv arrays stay in the specs, written by hand.
local vc = require "vclaunch"

local h = {}

-- The source tree (ctest runs in the build tree), the build tree, and the
-- test guest (kernel + initramfs) when ctest built it.
h.src = os.getenv("VC_SOURCE_DIR") or "."
h.build = os.getenv("VC_BUILD_DIR") or "build"
h.guest = os.getenv("VC_GUEST_DIR")

-- Points vc.options.runtime_dir at a path of its own that does not exist
-- yet (vclaunch creates it).
function h.fresh_runtime_dir()
  vc.options.runtime_dir = os.tmpname() .. ".d"
  os.remove(vc.options.runtime_dir:sub(1, -3))
end

-- Compares two argv arrays and names the first difference: its index, both
-- values, and both whole arrays.
function h.argv_eq(got, want)
  for i = 1, math.max(#got, #want) do
    if got[i] ~= want[i] then
      error(("argv[%d]: got %q, want %q\ngot:  %s\nwant: %s"):format(i, tostring(got[i]),
            tostring(want[i]), table.concat(got, " "), table.concat(want, " ")), 2)
    end
  end
end

-- The message of the recipe error vc.pod(t) raises.
function h.pod_error(t)
  local e = expect_error(vc.pod, t)
  eq(e.kind, "recipe", tostring(e))
  return tostring(e)
end

-- The first element of list that pred accepts.
function h.find(list, pred)
  for _, x in ipairs(list) do
    if pred(x) then return x end
  end
end

-- Runs the recipe examples/<name>.lua as `vclaunch examples/<name>.lua ...`
-- would, with arg[1..] = args, and returns the pod it returns.
function h.example_pod(name, args)
  local path = h.src .. "/examples/" .. name .. ".lua"
  local saved = arg
  arg = {[0] = path, table.unpack(args or {})}
  local ok, p = pcall(dofile, path)
  arg = saved
  if not ok then error(p, 0) end
  return p
end

-- The example recipe's pod (its argv is checked), and the same spec
-- rebuilt with overrides.
function h.example(name, overrides)
  local p = h.example_pod(name)
  local t = {}
  for k, v in pairs(p.spec) do t[k] = v end
  for k, v in pairs(overrides) do t[k] = v end
  return p, vc.pod(t)
end

-- A scratch file of size bytes (zeros), removed by the caller.
function h.scratch(size)
  local path = os.tmpname()
  local f = assert(io.open(path, "w"))
  f:seek("set", size - 1)
  f:write("\0")
  f:close()
  return path
end

-- The argv every pod with default vCPUs, memory and console starts with:
-- binary, name, machine and cpu as given, then extra appended.
function h.head(binary, name, machine, cpu, extra)
  local a = {binary, "-name", name, "-machine", machine, "-cpu", cpu,
             "-smp", "1,sockets=1,cores=1,threads=1,maxcpus=1", "-m", "512M",
             "-nodefaults", "-no-user-config", "-display", "none",
             "-action", "reboot=shutdown,panic=exit-failure",
             "-chardev", "stdio,id=console", "-serial", "chardev:console"}
  for _, s in ipairs(extra or {}) do a[#a + 1] = s end
  return a
end

return h
