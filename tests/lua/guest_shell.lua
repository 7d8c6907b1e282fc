-- The test guest's shell on its console (vc.cmd=shell), for specs that look
-- from inside the guest. Loaded with dofile(VC_SOURCE_DIR ..
-- "/tests/lua/guest_shell.lua"); returns {boot, sh, until_}.
local vc = require "vclaunch"
local guest = assert(os.getenv("VC_GUEST_DIR"), "VC_GUEST_DIR is not set")

local M = {}

--- Starts the test guest with its shell on the console and waits for the
--- prompt. fields: more pod fields; params: more kernel parameters.
function M.boot(name, fields, params)
  local spec = {name = name, memory = 256,
                kernel = {path = guest .. "/vmlinuz", initrd = guest .. "/initrd.img",
                          params = "vc.cmd=shell" .. (params and (" " .. params) or "")}}
  for k, v in pairs(fields or {}) do spec[k] = v end
  local vm = vc.pod(spec):start()
  vm.console:expect("VCLAUNCH%-GUEST%-READY", 120)
  vm.console:expect("# ", 60)
  return vm
end

--- Runs a shell command in the guest; returns its output lines (those
--- between the markers, so the echo of the command line is not taken for
--- output). Only the end marker is awaited: a pattern like "." would also
--- match the first letters of a line still coming in.
local n = 0
function M.sh(vm, cmd, timeout)
  n = n + 1
  local mark = "OUT" .. n
  vm.console:send(("echo %s-BEGIN; %s; echo %s-END\n"):format(mark, cmd, mark))
  vm.console:expect("^" .. mark .. "%-END$", timeout or 30)
  local lines, inside = {}, false
  for _, line in ipairs(vm.console:history()) do
    if line == mark .. "-BEGIN" then
      inside, lines = true, {}
    elseif line == mark .. "-END" then
      break
    elseif inside then
      lines[#lines + 1] = line
    end
  end
  return lines
end

--- Waits in the guest (up to about 30 s) until cond, a shell test, holds;
--- returns whether it does.
function M.until_(vm, cond)
  M.sh(vm, ("i=0; while ! { %s; } && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done"):format(cond),
       60)
  return #M.sh(vm, ("%s && echo yes"):format(cond)) > 0
end

return M
