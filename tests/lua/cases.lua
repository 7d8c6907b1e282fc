-- Cases that start processes (vclaunch, QEMU): every process a case puts
-- in `launched` is closed (killed) when the case ends, so a failing case
-- leaves nothing running. Loaded with dofile(VC_SOURCE_DIR ..
-- "/tests/lua/cases.lua"); returns case, launched.
local launched = {}

local function case(name, fn)
  it(name, function()
    local ok, e = xpcall(fn, debug.traceback)
    for i, p in ipairs(launched) do
      pcall(p.close, p)
      launched[i] = nil
    end
    if not ok then error(e, 0) end
  end)
end

return case, launched
