-- The pod schema checker. A field spec: type ("string", "path": a string
-- without control characters, "integer", "boolean", "record": a table of
-- named fields, "list": an array of items, "arch": a name or a policy, "any"),
-- or a list of types for a field that takes either; required; values (enum);
-- min and max (integers); fields (record); items (list). Strings never hold
-- a NUL byte.
local errors = require "vclaunch.errors"

local M = {}
local suggest = errors.suggest

function M.record(fields, extra)
  local s = {type = "record", fields = fields}
  for k, v in pairs(extra or {}) do s[k] = v end
  return s
end
function M.list(items) return {type = "list", items = items} end
M.STR, M.PATH, M.INT, M.BOOL = {type = "string"}, {type = "path"}, {type = "integer"},
                               {type = "boolean"}
M.ID = {type = "string"} -- checked by the kind that carries it

local PHRASES = {string = "a string", path = "a path (string)", integer = "an integer",
                 boolean = "a boolean", record = "a table", list = "a list",
                 arch = "an arch name or a policy from vclaunch.arch()", any = "a value"}

local function is_policy(v)
  return type(v) == "table" and type(v.binary) == "string" and type(v.machines) == "table" and
         type(v.new_ctx) == "function"
end

local function matches_type(v, t)
  if t == "string" or t == "path" then return type(v) == "string"
  elseif t == "integer" then return math.type(v) == "integer"
  elseif t == "boolean" then return type(v) == "boolean"
  elseif t == "record" or t == "list" then return type(v) == "table" and not is_policy(v)
  elseif t == "arch" then return type(v) == "string" or is_policy(v)
  end
  return true
end

local function got(v)
  if type(v) == "number" then return tostring(v) end
  return "a " .. type(v)
end

local check_value

-- Checks the table t against a record spec; where names it ("pod.kernel").
local function check_record(t, spec, where)
  local names, keys = {}, {}
  for k in pairs(spec.fields) do names[#names + 1] = k end
  table.sort(names)
  for k in pairs(t) do keys[#keys + 1] = tostring(k) end
  table.sort(keys)
  for _, k in ipairs(keys) do
    if not spec.fields[k] then
      error(where .. ": unknown field '" .. k .. "'" .. suggest(k, names), 0)
    end
  end
  for _, k in ipairs(names) do
    local f = spec.fields[k]
    if t[k] == nil then
      if f.required then error(where .. ": missing required field '" .. k .. "'", 0) end
    else
      check_value(t[k], f, where, k)
    end
  end
end

-- Checks one value v against spec f: field name of where ("pod", "vcpus"),
-- or, with name nil, the list item where ("pod.firmware[2]").
function check_value(v, f, where, name)
  local label = name and (where .. ": field '" .. name .. "'") or where
  local path = name and (where == "pod" and ("pod." .. name) or (where .. "." .. name)) or where
  local types = type(f.type) == "table" and f.type or {f.type}
  local t
  for _, ty in ipairs(types) do
    if matches_type(v, ty) then t = ty break end
  end
  if not t then
    if types[1] == "integer" and type(v) == "number" then
      error(("%s must be an integer, got %s"):format(label, v), 0)
    end
    local phrases = {}
    for i, ty in ipairs(types) do phrases[i] = PHRASES[ty] end
    local what = types[1] == "integer" and "a number" or table.concat(phrases, " or ")
    error(("%s must be %s, got %s"):format(label, what, got(v)), 0)
  end
  if (t == "string" or t == "path") and v:find("\0", 1, true) then
    error(("%s: holds a NUL byte"):format(label), 0)
  end
  if t == "path" then
    local c = v:match("%c")
    if c then error(("%s: holds a control character (0x%02x)"):format(label, c:byte()), 0) end
  end
  if f.values then
    local ok = false
    for _, e in ipairs(f.values) do ok = ok or e == v end
    if not ok then
      error(("%s: %q is not one of: %s"):format(label, v, table.concat(f.values, ", ")), 0)
    end
  end
  if t == "integer" then
    if f.max and (v < (f.min or v) or v > f.max) then
      error(("%s: %d is out of range (%d to %d)"):format(label, v, f.min or 0, f.max), 0)
    elseif f.min and v < f.min then
      error(("%s: %d is below %d"):format(label, v, f.min), 0)
    end
  end
  if t == "record" and f.fields then
    check_record(v, f, path)
  elseif t == "list" then
    local n, bad = #v, nil
    for k in pairs(v) do
      if math.type(k) ~= "integer" or k < 1 or k > n then
        if bad == nil or tostring(k) < tostring(bad) then bad = k end
      end
    end
    if bad ~= nil then
      error(("%s must be a list (keys 1..n), has key %s"):format(label, tostring(bad)), 0)
    end
    for i, item in ipairs(v) do
      local at = ("%s[%d]"):format(path, i)
      if f.items.type == "record" then
        if type(item) ~= "table" then
          error(("%s must be a table, got %s"):format(at, got(item)), 0)
        end
        check_record(item, f.items, at)
      else
        check_value(item, f.items, at, nil)
      end
    end
  end
end


M.is_policy, M.check_record, M.check_value, M.got = is_policy, check_record, check_value, got

return M
