-- Where a VM's console log goes. With options.log_dir (the CLI sets it:
-- --log-dir, else true), one file per VM run in the log directory, kept
-- after the VM exits: NAME-YYYYMMDD-HHMMSS-PID.log (local time, vclaunch's
-- pid; "-2", "-3", ... when this process starts two VMs of one name in one
-- second). Without it (module users by default), console.log in the VM's
-- runtime dir, removed with it.
local core = require "vclaunch.core"
local options = require "vclaunch.options"
local errors = require "vclaunch.errors"

local M = {}

--- The default log directory: $XDG_STATE_HOME/vclaunch, else
--- /var/log/vclaunch as root, else ~/.local/state/vclaunch.
function M.default_dir()
  local xdg = os.getenv("XDG_STATE_HOME")
  if xdg and xdg:sub(1, 1) == "/" then return xdg .. "/vclaunch" end -- XDG: absolute only
  if core.geteuid() == 0 then return "/var/log/vclaunch" end
  local home = os.getenv("HOME")
  if not home or home:sub(1, 1) ~= "/" then
    errors.fail("io", "log directory: HOME is not set; give --log-dir (vc.options.log_dir)")
  end
  return home .. "/.local/state/vclaunch"
end

--- The log directory in force, or nil when logs stay in the runtime dir.
function M.dir()
  local d = options.log_dir
  if d == true then return M.default_dir() end
  if d == nil or d == false then return nil end
  if type(d) ~= "string" or d == "" then
    errors.fail("usage", "vc.options.log_dir: expected a directory name or true")
  end
  return d
end

local function exists(path)
  local f = io.open(path, "r")
  if f then f:close() end
  return f ~= nil
end

--- A new log file's path for a VM called name, the directory created
--- (mkdir -p, 0700); nil when logs stay in the runtime dir. The name is
--- reduced to letters, digits, '.', '_' and '-' (no '/', no leading '.'),
--- so no pod name leads outside the directory.
function M.path(name)
  local dir = M.dir()
  if not dir then return nil end
  local ok, err = core.mkdir_p(dir)
  if not ok then errors.fail("io", "log directory: " .. err) end
  local safe = tostring(name):gsub("[^%w._-]", "_"):gsub("^%.", "_"):sub(1, 64)
  local base = ("%s/%s-%s-%d"):format(dir, safe, os.date("%Y%m%d-%H%M%S"), core.getpid())
  local path, n = base .. ".log", 1
  while exists(path) do
    n = n + 1
    path = ("%s-%d.log"):format(base, n)
  end
  return path
end

return M
