-- A VM's console: the lines QEMU's serial console printed, a ring of the
-- last 1000, expect() on them, and the console log.
local core = require "vclaunch.core"
local errors = require "vclaunch.errors"
local options = require "vclaunch.options"

local M = {}

local Console = {}
Console.__index = Console
-- How many consoles are open (VMs running), and whether two ever were at
-- once: M.prefix
local running, several = 0, false
-- The log file (vclaunch.logs chose its path) is created at once, so that
-- a log named in --events and the metadata exists; log_path stays after
-- the VM exits.
function M.new(name, log_path)
  -- lines[first..last] hold the ring; # is not used on it, since the
  -- dropped head leaves the table with holes
  local c = setmetatable({name = name, lines = {}, skip = {}, first = 1, last = 0, pos = 1,
                          partial_used = 0, cond = core.cond(), log_path = log_path}, Console)
  if log_path then
    local f, err = io.open(log_path, "a")
    if not f then errors.fail("io", ("%s: console log: %s"):format(name, err)) end
    c.log = f
  end
  running = running + 1
  several = several or running > 1
  return c
end

-- Echoed lines carry their VM's name ("name| line") from the moment two
-- VMs of this process run at once, and from then on; VMs that only ever
-- run one at a time (a lone foreground VM) are echoed as they print.
-- options.echo_prefix = true or false decides instead.
function M.prefix(console)
  local on = options.echo_prefix
  if on == nil then on = several end
  return on and (console.name .. "| ") or ""
end

-- stdout closed under us (`vclaunch recipe.lua | head -2`): the echo stops
-- with one line on stderr; the VM goes on.
-- text: what of the line was not echoed yet; ends: the line ends there.
-- options.echo_partial (the CLI's foreground VM): an unterminated line (a
-- shell prompt) shows at once, and its line later adds only the rest.
local function echo(console, text, ends)
  local head = (console.echoed_len or 0) > 0 and "" or M.prefix(console)
  local ok, err = io.stdout:write(head, text, ends and "\n" or "")
  if ok then ok, err = io.stdout:flush() end
  if not ok then
    options.echo_console = false
    io.stderr:write("vclaunch: the console is no longer echoed: stdout: ", tostring(err), "\n")
  end
end

-- The VM exited: no more lines; waiters see it at once. Idempotent.
function Console:_close()
  if not self.closed then running = running - 1 end
  if self.log then self.log:close() self.log = nil end
  self.write = nil
  self.closed = true
  self.cond:signal()
end

-- An unterminated last line so far (a prompt): expect can match it.
function Console:_partial(text)
  self.partial = text
  if options.echo_console and options.echo_partial and #text > (self.echoed_len or 0) then
    echo(self, text:sub((self.echoed_len or 0) + 1), false)
    self.echoed_len = #text
  end
  self.cond:signal()
end

function Console:_push(line)
  self.last = self.last + 1
  self.lines[self.last] = line
  -- what an expect already took of this line while it was partial
  if (self.partial_used or 0) > 0 then self.skip[self.last] = self.partial_used end
  self.partial, self.partial_used = nil, 0
  -- a ring of the last 1000 lines
  if self.last - self.first >= 1000 then
    self.lines[self.first] = nil
    self.skip[self.first] = nil
    self.first = self.first + 1
    if self.pos < self.first then self.pos = self.first end
  end
  if self.log then self.log:write(line, "\n") self.log:flush() end
  if options.echo_console then echo(self, line:sub((self.echoed_len or 0) + 1), true) end
  self.echoed_len = 0
  self.cond:signal()
end

--- Waits for a line matching the Lua pattern; returns the line. Lines are
--- consumed: the next expect searches after the match. The last line the
--- guest printed without a newline yet (a shell prompt) is searched too;
--- the part of it a match took is not searched again.
function Console:expect(pattern, timeout)
  timeout = timeout or 30
  local deadline = core.now() + timeout
  while true do
    for i = self.pos, self.last do
      local line = self.lines[i]
      if self.skip[i] then line = line:sub(self.skip[i] + 1) end
      if line:find(pattern) then
        self.pos = i + 1
        return line
      end
    end
    self.pos = self.last + 1
    local rest = self.partial and self.partial:sub(self.partial_used + 1)
    if rest and rest:find(pattern) then
      self.partial_used = #self.partial
      return rest
    end
    local left = deadline - core.now()
    if self.closed or left <= 0 or not self.cond:wait(left) and core.now() >= deadline then
      local last = {}
      for i = math.max(self.first, self.last - 9), self.last do last[#last + 1] = self.lines[i] end
      if self.partial then last[#last + 1] = self.partial end
      errors.fail(self.closed and "process" or "timeout",
           ("console: no line matching %q %s; last lines:\n%s"):format(pattern,
             self.closed and "before the VM exited" or ("within " .. timeout .. "s"),
             table.concat(last, "\n")))
    end
  end
end

--- Writes text to the guest's console (its serial port): send "ls\n" to
--- run ls in a shell on the console.
function Console:send(text)
  if type(text) ~= "string" then errors.fail("usage", "console:send: expected a string") end
  if self.closed or not self.write then
    errors.fail("process", ("%s: console:send: the VM has exited"):format(self.name))
  end
  self.write(text)
end

--- The lines kept (the last 1000), oldest first.
function Console:history()
  return table.move(self.lines, self.first, self.last, 1, {})
end

return M
