-- Counts the open fds of this process: /proc/self/fd/N exists (a socket or
-- pipe there fails to open with another error than ENOENT). Loaded with
-- dofile(VC_SOURCE_DIR .. "/tests/lua/fdcount.lua"); returns the function.
return function()
  local n = 0
  for i = 0, 1023 do
    local f, _, code = io.open("/proc/self/fd/" .. i)
    if f then f:close() end
    if f or code ~= 2 then n = n + 1 end
  end
  return n
end
