-- The foreground console: what the user types on vclaunch's stdin goes to
-- the guest's console. On a terminal (raw mode, core.read_stdin) every key
-- goes, Ctrl-C and Ctrl-Z included, except the escape key Ctrl-]; stdin
-- that is not a terminal (a pipe, a file) is forwarded as it comes, and its
-- end stops the reading, not the VM.
local core = require "vclaunch.core"

local M = {}

M.ESCAPE = "\29" -- Ctrl-], as virsh console and telnet
local CTRL_C = "\3"

--- Forwards stdin to vm's console until the returned reader is closed
--- (close() restores the terminal and drops what was typed and not read).
--- on_escape() runs once, from the loop, when Ctrl-] is typed on a raw
--- terminal; after that nothing more is forwarded, and Ctrl-] or Ctrl-C
--- typed again runs on_again(). Returns nil when stdin cannot be read
--- (closed, or the terminal of another process group: vclaunch runs in the
--- background).
function M.attach(vm, on_escape, on_again)
  local console = vm.console
  local reader, escaped
  local function send(data)
    -- the VM may be gone while the reader still runs: what comes is dropped
    if not console.closed then pcall(console.send, console, data) end
  end
  reader = core.read_stdin{
    on_data = function(data)
      if not reader:raw() then return send(data) end
      if escaped then
        if data:find(M.ESCAPE, 1, true) or data:find(CTRL_C, 1, true) then on_again() end
        return
      end
      local at = data:find(M.ESCAPE, 1, true)
      if not at then return send(data) end
      if at > 1 then send(data:sub(1, at - 1)) end
      escaped = true
      -- the guest's line may be half printed (a prompt)
      io.stderr:write(console.partial and "\n" or "",
                      "vclaunch: Ctrl-]: shutting the VM down (Ctrl-] again kills it)\n")
      on_escape()
    end,
  }
  if reader and reader:raw() then
    io.stderr:write("vclaunch: console attached; Ctrl-] to quit\n")
  end
  return reader
end

return M
