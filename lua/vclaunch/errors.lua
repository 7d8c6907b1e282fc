-- Error objects and where they point. An error is a table {kind =, message
-- =, where = "recipe.lua:7"} (plus class and command for QMP errors) whose
-- tostring is "where: message". The position is chosen here only: the first
-- Lua frame that is not vclaunch's own code, else the recipe line the CLI's
-- line tracker saw last (a tail call `return vc.pod{...}` leaves no frame).
local core = require "vclaunch.core"
local options = require "vclaunch.options"

local M = {}

local function own_source(src)
  return src:match("^@lua/vclaunch/") or src:match("^@arch/") or src:match("/lua/vclaunch/")
         or src:match("/arch/%w+%.lua$") or src == "=[C]"
end
M.own_source = own_source

--- The recipe position "file:line" of the caller, from level on, or nil.
function M.where(level)
  for l = (level or 2) + 1, 60 do
    local info = debug.getinfo(l, "Sl")
    if not info then break end
    if info.what ~= "C" and not own_source(info.source) and info.currentline > 0 then
      return info.short_src .. ":" .. info.currentline
    end
  end
  return core.recipe_line()
end

--- Raises an error object of kind with msg at the recipe's position. from:
--- an error object whose other fields (class, command) the new one keeps.
function M.fail(kind, msg, from)
  local e = core.error(kind, msg)
  if type(from) == "table" then
    for k, v in pairs(from) do
      if k ~= "kind" and k ~= "message" and k ~= "where" then e[k] = v end
    end
  end
  e.where = M.where(2)
  error(e, 0)
end

--- Re-raises e (an error object or a string) at the recipe's position, with
--- kind when e has none.
function M.rethrow(e, kind)
  if type(e) == "table" and e.kind then M.fail(e.kind, e.message, e) end
  M.fail(kind, tostring(e))
end

-- One line on stderr when options.log_level is level or chattier
-- ("error" < "info" < "debug").
local LEVELS = {error = 1, info = 2, debug = 3}
function M.log(level, fmt, ...)
  if LEVELS[options.log_level or "error"] >= LEVELS[level] then
    io.stderr:write("vclaunch: ", fmt:format(...), "\n")
  end
end

-- A progress line on stderr ("vclaunch: hello: QMP ready in 0.12 s"): when
-- options.progress is set (the CLI sets it when stderr is a terminal) or
-- options.log_level is info or chattier.
function M.progress(fmt, ...)
  if options.progress or LEVELS[options.log_level or "error"] >= LEVELS.info then
    io.stderr:write("vclaunch: ", fmt:format(...), "\n")
  end
end

-- " (did you mean 'x'?)" by the core's rule (the one device fields use), or "".
function M.suggest(name, names)
  local best = core.suggest(name, names)
  return best and (" (did you mean '" .. best .. "'?)") or ""
end

return M
