-- Whether process pid runs: /proc/PID/stat exists and its state is not Z
-- (a zombie waiting to be reaped counts as gone). Loaded with
-- dofile(VC_SOURCE_DIR .. "/tests/lua/alive.lua"); returns the function.
return function(pid)
  local f = io.open("/proc/" .. pid .. "/stat")
  if not f then return false end
  local state = f:read("a"):match("^%d+ %b() (%a)")
  f:close()
  return state ~= "Z"
end
