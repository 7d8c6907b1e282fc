-- Architecture policies: loading arch/<name>.lua by name, and calling a
-- policy's methods so that a failure names what failed. A policy refuses a
-- pod with self:fail(msg) (a recipe error with that message); any other
-- error raised inside a method (a Lua error in a recipe's override) is
-- reported as that method failing, naming the override.
local core = require "vclaunch.core"
local errors = require "vclaunch.errors"
local schema = require "vclaunch.schema"

local M = {}

local fail, suggest = errors.fail, errors.suggest

M.KNOWN = {"amd64", "arm64", "ppc64le", "s390x"}

-- The policy of arch name, or nil for a name that is no arch.
local function load(name)
  if name == "base" or not name:match("^[%w_]+$") then return nil end
  local modname = "vclaunch.arch." .. name
  -- no such module: an unknown arch; one that fails to load: its own error
  if not package.preload[modname] and not package.searchpath(modname, package.path) then
    return nil
  end
  local ok, arch = pcall(require, modname)
  if not ok then fail("io", "cannot load the " .. name .. " policy: " .. tostring(arch)) end
  if schema.is_policy(arch) then return arch end
  return nil
end

--- The policy of an architecture ("amd64", ...): a table whose methods
--- build the command line. policy:extend{...} returns a new policy with
--- fields and methods replaced, for vclaunch.pod{arch = policy}.
---@param name string
function M.arch(name)
  if type(name) ~= "string" then
    fail("usage", "vclaunch.arch: expected an arch name, got " .. schema.got(name))
  end
  local arch = load(name)
  if not arch then
    fail("recipe", "vclaunch.arch: unknown arch '" .. name .. "'" .. suggest(name, M.KNOWN))
  end
  return arch
end

--- The policy a pod's arch field names (a name or a policy); raises the
--- message "pod: unknown arch ..." as a string for an unknown name.
function M.resolve(v)
  if type(v) ~= "string" then return v end
  local a = load(v)
  if not a then error("pod: unknown arch '" .. v .. "'" .. suggest(v, M.KNOWN), 0) end
  return a
end

-- Whether the table that defines method in policy's chain is an arch file
-- itself (vclaunch.arch.*) rather than a recipe's extend{...} layer.
local function own_method(policy, method)
  local t = policy
  while type(t) == "table" do
    if rawget(t, method) ~= nil then
      for name, mod in pairs(package.loaded) do
        if mod == t and name:match("^vclaunch%.arch%.") then return true end
      end
      return false
    end
    local mt = getmetatable(t)
    t = mt and type(mt.__index) == "table" and mt.__index or nil
  end
  return false
end

--- Calls policy:method(...). A refusal (self:fail, an error object) goes
--- on as it is; any other error becomes the recipe error "pod: the arch
--- override 'method' failed: ..." (or "the <arch> policy's 'method'" when
--- the method is the arch file's own).
function M.call(policy, method, ...)
  local ok, a, b = pcall(policy[method], policy, ...)
  if ok then return a, b end
  if type(a) == "table" and a.kind then error(a, 0) end
  local who = own_method(policy, method)
              and ("the %s policy's '%s'"):format(tostring(policy.name), method)
              or ("the arch override '%s'"):format(method)
  error(core.error("recipe", ("pod: %s failed: %s"):format(who, tostring(a))), 0)
end

return M
