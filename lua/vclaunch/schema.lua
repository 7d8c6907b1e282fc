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
                 size = "an integer (MiB) or a size string like \"512M\" or \"2G\"",
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
  elseif t == "size" then return math.type(v) == "integer" or type(v) == "string"
  end
  return true
end

local MiB = 1024 * 1024
local UNITS = {b = 1, k = 1024, m = MiB, g = 1024 * MiB, t = 1024 * 1024 * MiB}

--- A memory size in MiB: an integer is MiB; a string is a number (digits,
--- optionally a fraction: "1.5G") and a binary unit, K, M, G or T, case
--- insensitive, optionally followed by "iB" or "B" ("2G", "2GiB" and "2gb"
--- are all 2048 MiB), or "B" alone for bytes; without a unit it is MiB, as
--- QEMU's -m reads it. The size must be a whole number of MiB, at least
--- 1 MiB. Returns the MiB, or nil and what is wrong.
---@param v integer|string
---@return integer|nil mib
---@return string|nil why
function M.size_mib(v)
  if math.type(v) == "integer" then
    if v < 1 then return nil, ("%d MiB is not a size (at least 1)"):format(v) end
    return v
  end
  if type(v) ~= "string" then return nil, "expected an integer (MiB) or a size string" end
  local int, frac, unit = v:match("^(%d+)%.?(%d*)(%a*)$")
  local ok = int and not (frac == "" and v:find(".", 1, true))
  local scale
  if ok then
    local u = unit:lower()
    if u == "" then scale = MiB
    elseif u == "b" then scale = 1
    else
      local prefix, rest = u:sub(1, 1), u:sub(2)
      scale = prefix ~= "b" and UNITS[prefix]
      if rest ~= "" and rest ~= "b" and rest ~= "ib" then scale = nil end
    end
  end
  if not scale then
    return nil, ("%q is not a size like \"512M\", \"2G\", \"1.5GiB\" (units K, M, G, T; " ..
                 "no unit: MiB)"):format(v)
  end
  -- exact integer arithmetic: 15 digits of T is far above any limit
  int = int:gsub("^0+(%d)", "%1")
  if #int > 15 or #frac > 9 then return nil, ("%q is too large or too precise"):format(v) end
  local bytes = math.tointeger(tonumber(int)) * scale
  if frac ~= "" then
    local den = math.tointeger(10 ^ #frac)
    local num = math.tointeger(tonumber(frac)) * scale
    if num % den ~= 0 then return nil, ("%q is not a whole number of bytes"):format(v) end
    bytes = bytes + num // den
  end
  if bytes < 1 then return nil, ("%q is not a size (at least 1M)"):format(v) end
  if bytes % MiB ~= 0 then
    return nil, ("%q is not a whole number of MiB (%d bytes)"):format(v, bytes)
  end
  return bytes // MiB
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
  if t == "size" then
    local mib, why = M.size_mib(v)
    if not mib then error(("%s: %s"):format(label, why), 0) end
    v = mib
  end
  if t == "integer" or t == "size" then
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
