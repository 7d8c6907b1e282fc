-- A VM's console: the lines QEMU's serial console printed, a ring of the
-- last 1000, expect() on them, and the console log.
local core = require "vclaunch.core"
local errors = require "vclaunch.errors"
local options = require "vclaunch.options"

local M = {}

local Console = {}
Console.__index = Console
-- The log file is opened at the first line: a guest that prints nothing
-- costs no file.
function M.new(name, log_path)
  -- lines[first..last] hold the ring; # is not used on it, since the
  -- dropped head leaves the table with holes
  return setmetatable({name = name, lines = {}, first = 1, last = 0, pos = 1, cond = core.cond(),
                       log_path = log_path}, Console)
end

-- stdout closed under us (`vclaunch recipe.lua | head -2`): the echo stops
-- with one line on stderr; the VM goes on.
local function echo(line)
  local ok, err = io.stdout:write(line, "\n")
  if ok then ok, err = io.stdout:flush() end
  if not ok then
    options.echo_console = false
    io.stderr:write("vclaunch: the console is no longer echoed: stdout: ", tostring(err), "\n")
  end
end

-- The VM exited: no more lines; waiters see it at once. Idempotent.
function Console:_close()
  if self.log then self.log:close() self.log = nil end
  self.log_path = nil
  self.closed = true
  self.cond:signal()
end

function Console:_push(line)
  self.last = self.last + 1
  self.lines[self.last] = line
  -- a ring of the last 1000 lines
  if self.last - self.first >= 1000 then
    self.lines[self.first] = nil
    self.first = self.first + 1
    if self.pos < self.first then self.pos = self.first end
  end
  if not self.log and self.log_path then
    self.log = io.open(self.log_path, "a")
    self.log_path = nil
  end
  if self.log then self.log:write(line, "\n") self.log:flush() end
  if options.echo_console then echo(line) end
  self.cond:signal()
end

--- Waits for a line matching the Lua pattern; returns the line. Lines are
--- consumed: the next expect searches after the match.
function Console:expect(pattern, timeout)
  timeout = timeout or 30
  local deadline = core.now() + timeout
  while true do
    for i = self.pos, self.last do
      if self.lines[i]:find(pattern) then
        self.pos = i + 1
        return self.lines[i]
      end
    end
    self.pos = self.last + 1
    local left = deadline - core.now()
    if self.closed or left <= 0 or not self.cond:wait(left) and core.now() >= deadline then
      local last = {}
      for i = math.max(self.first, self.last - 9), self.last do last[#last + 1] = self.lines[i] end
      errors.fail(self.closed and "process" or "timeout",
           ("console: no line matching %q %s; last lines:\n%s"):format(pattern,
             self.closed and "before the VM exited" or ("within " .. timeout .. "s"),
             table.concat(last, "\n")))
    end
  end
end

--- The lines kept (the last 1000), oldest first.
function Console:history()
  return table.move(self.lines, self.first, self.last, 1, {})
end

return M
