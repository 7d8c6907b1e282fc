-- A small describe/it harness. Usage: harness.lua spec.lua
-- Prints one line per case and closes with "N passed, N failed".
local spec_path = assert(arg[1], "usage: harness.lua spec.lua")
local passed, failed, skipped, names = 0, 0, 0, {}

-- skip(reason) ends the running case as skipped: what it needs is missing
-- on this host (ctest's SKIP_RETURN_CODE is per spec file, so a case says
-- "skipped: reason" and the rest of the spec still runs).
local SKIP = {}
function skip(reason)
  error(setmetatable({reason = reason}, SKIP), 2)
end

local function traceback(e)
  if getmetatable(e) == SKIP then return e end
  if type(e) == "table" then e = tostring(e.message or e) end
  return debug.traceback(tostring(e), 2)
end

function describe(name, fn)
  names[#names + 1] = name
  fn()
  names[#names] = nil
end

function it(name, fn)
  local full = table.concat(names, " ") .. " " .. name
  local ok, err = xpcall(fn, traceback)
  if ok then
    passed = passed + 1
    print("ok   " .. full)
  elseif getmetatable(err) == SKIP then
    skipped = skipped + 1
    print("skip " .. full .. "\nskipped: " .. err.reason)
  else
    failed = failed + 1
    print("FAIL " .. full .. "\n" .. err)
  end
end

-- Asserts that fn raises; returns the error object for inspection.
function expect_error(fn, ...)
  local ok, err = pcall(fn, ...)
  if ok then error("expected an error, got none", 2) end
  return err
end

function eq(got, want, what)
  if got ~= want then
    error(string.format("%s: got %q, want %q", what or "value", tostring(got), tostring(want)), 2)
  end
end

-- Leftovers fail the spec: tasks, active libuv handles and registry refs
-- that the cases did not release.
local core = package.loaded["vclaunch.core"] or select(2, pcall(require, "vclaunch.core"))
local function refs()
  collectgarbage()
  collectgarbage()
  local n = 0
  for k, v in pairs(debug.getregistry()) do
    if math.type(k) == "integer" and k > 3 and math.type(v) ~= "integer" then n = n + 1 end
  end
  return n
end
local refs_before = type(core) == "table" and refs()

dofile(spec_path)
if type(core) == "table" and core.stats then
  local s, r = core.stats(), refs()
  if s.tasks > 0 or s.handles > 0 or s.ready > 0 or r > refs_before then
    failed = failed + 1
    print(("FAIL teardown: left %d task(s), %d handle(s), %d queued, %d registry ref(s)"):format(
          s.tasks, s.handles, s.ready, r - refs_before))
  end
end
print(string.format("%d passed, %d failed", passed, failed) ..
      (skipped > 0 and (", %d skipped"):format(skipped) or ""))
-- Raised, not os.exit: under vclaunch the spec runs in a task, and the
-- runtime must close what it holds.
if failed > 0 then error(string.format("%d failed", failed), 0) end
