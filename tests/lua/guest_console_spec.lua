-- The foreground console from a user's seat: vclaunch runs the test guest
-- (vc.cmd=shell) in a tmux pane, keys typed there reach the guest's shell,
-- Ctrl-] leaves, and the terminal is as it was: raw mode undone, line
-- wrapping on (no firmware escapes), nothing typed meanwhile run by the host
-- shell. And stdin that is a pipe: forwarded, its end does not stop the VM.
local core = require "vclaunch.core"
local bin = assert(os.getenv("VC_BIN"), "VC_BIN is not set")
local guest = assert(os.getenv("VC_GUEST_DIR"), "VC_GUEST_DIR is not set")

local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir -p '" .. dir .. "/run'"))

-- examples/shell.lua: the test guest with its shell on the console
local recipe = assert(os.getenv("VC_SOURCE_DIR"), "VC_SOURCE_DIR is not set") .. "/examples/shell.lua"

local function exists(path)
  local f = io.open(path)
  if f then f:close() end
  return f ~= nil
end

local function slurp(path)
  local f = io.open(path)
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

-- tmux on a server of its own (its socket in dir)
local sock = dir .. "/tmux.sock"
local function tmux(...)
  local argv = {"tmux", "-S", sock, ...}
  local p = io.popen(core.render(argv, "shell") .. " 2>&1")
  local out = p:read("a")
  p:close()
  return out
end
local function pane() return tmux("capture-pane", "-p", "-t", "vc") end
-- the pane's last line that is not empty
local function last_line()
  local last = ""
  for line in pane():gmatch("[^\n]+") do
    if line:find("%S") then last = line end
  end
  return last
end
local function type_keys(text) tmux("send-keys", "-t", "vc", "-l", text) end
local function key(name) tmux("send-keys", "-t", "vc", name) end

-- Polls pred (a pane, a file) every 0.1 s until it holds.
local function await(what, pred, timeout)
  local deadline = core.now() + timeout
  while true do
    local v = pred()
    if v then return v end
    if core.now() > deadline then
      error(("%s: not within %gs; the pane:\n%s"):format(what, timeout, pane()), 2)
    end
    core.sleep(0.1)
  end
end

-- A host shell in a new tmux session; returns when it prompts.
local function host_shell()
  tmux("kill-server")
  local sh = ("exec env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=%s TERM=screen PS1='host$ ' sh"):format(dir)
  tmux("new-session", "-d", "-s", "vc", "-x", "160", "-y", "50", sh)
  await("the host shell's prompt", function() return last_line() == "host$" end, 20)
end

-- Runs vclaunch on the recipe in the pane's shell, its pid in dir/pid,
-- "EXIT=<status>" printed when it ends. The guest boots with acpi=off: it
-- ignores the power button, so after Ctrl-] the ladder takes its full first
-- step (--stop-timeout 3) and keys typed meanwhile reach a vclaunch that
-- still runs (the test guest's shell otherwise powers off at once).
local function launch()
  os.remove(dir .. "/pid")
  local cmd = core.render({"sh", "-c", 'echo $$ > "$0"; exec "$@"', dir .. "/pid", bin,
                           "--accel", "tcg", "--stop-timeout", "3", "--runtime-dir", dir .. "/run",
                           recipe, guest, "acpi=off"}, "shell")
  type_keys(cmd .. "; echo EXIT=$?")
  key("Enter")
  await("the guest's shell prompt", function() return last_line() == "/ #" end, 180)
end

describe("the foreground console", function()
  it("takes keys in a terminal, leaves with Ctrl-], and gives the terminal back intact", function()
    local ok, e = pcall(function()
      host_shell()
      -- the probe itself: a wrap-off sequence shows as wrap_flag 0
      type_keys("printf '\\033[?7l'; echo W-OFF")
      key("Enter")
      await("wrap off", function() return pane():find("\nW%-OFF") end, 10)
      eq(tmux("display", "-p", "-t", "vc", "#{wrap_flag}"), "0\n", "wrap_flag after ESC[?7l")
      type_keys("printf '\\033[?7h'; clear")
      key("Enter")
      await("wrap on", function() return last_line() == "host$" end, 10)
      eq(tmux("display", "-p", "-t", "vc", "#{wrap_flag}"), "1\n", "wrap_flag after ESC[?7h")

      launch()
      local p = pane()
      eq(p:find("vclaunch: console attached; Ctrl-] to quit", 1, true) ~= nil, true, p)
      type_keys("uname -a")
      key("Enter")
      local ans = await("uname's answer", function()
        return pane():match("\n(Linux vcguest [^\n]* GNU/Linux)")
      end, 60)
      eq(ans:match("x86_64") ~= nil, true, ans)
      await("the guest's prompt again", function() return last_line() == "/ #" end, 30)

      -- Ctrl-], then a command for the host shell typed at once, while
      -- vclaunch shuts the VM down
      key("C-]")
      type_keys("touch " .. dir .. "/MARKER")
      key("Enter")
      local during = pane()
      eq(during:match("\nEXIT=%d"), nil, "vclaunch had exited before the keys came:\n" .. during)
      local code = await("vclaunch's exit", function() return pane():match("\nEXIT=(%d+)") end, 120)
      eq(code, "0", "exit status")
      await("the host shell's prompt", function() return last_line() == "host$" end, 20)
      eq(exists(dir .. "/MARKER"), false, "the keys typed after Ctrl-] ran in the host shell")

      -- the terminal: wrapping on, cooked mode with echo
      eq(tmux("display", "-p", "-t", "vc", "#{wrap_flag}"), "1\n", "wrap_flag after the run")
      type_keys("stty -a > " .. dir .. "/stty")
      key("Enter")
      local stty = await("stty -a", function()
        local s = slurp(dir .. "/stty")
        return s and s:find("\n$") and s
      end, 20)
      local words = {}
      for w in stty:gmatch("%S+") do words[w] = true end
      for _, flag in ipairs{"icanon", "echo", "isig", "icrnl", "opost"} do
        eq(words[flag], true, flag .. " in stty -a:\n" .. stty)
      end
      -- the control: a command typed now does reach the host shell
      type_keys("touch " .. dir .. "/MARKER2")
      key("Enter")
      await("MARKER2 from the host shell", function() return exists(dir .. "/MARKER2") end, 20)
    end)
    tmux("kill-server")
    if not ok then error(e, 0) end
  end)

  it("gives the terminal back when vclaunch is stopped by SIGTERM", function()
    local ok, e = pcall(function()
      host_shell()
      launch()
      local pid = assert(tonumber(slurp(dir .. "/pid")), "no pid")
      assert(os.execute("kill -TERM " .. pid))
      local code = await("vclaunch's exit", function() return pane():match("\nEXIT=(%d+)") end, 120)
      eq(code, "143", "exit status")
      await("the host shell's prompt", function() return last_line() == "host$" end, 20)
      eq(tmux("display", "-p", "-t", "vc", "#{wrap_flag}"), "1\n", "wrap_flag after the run")
      type_keys("stty -a > " .. dir .. "/stty2")
      key("Enter")
      local stty = await("stty -a", function()
        local s = slurp(dir .. "/stty2")
        return s and s:find("\n$") and s
      end, 20)
      local words = {}
      for w in stty:gmatch("%S+") do words[w] = true end
      eq(words.icanon and words.echo, true, "stty -a:\n" .. stty)
    end)
    tmux("kill-server")
    if not ok then error(e, 0) end
  end)

  it("forwards stdin that is a pipe, and its end does not stop the VM", function()
    -- what printf | vclaunch does, with the printf held back until the
    -- guest's shell prompts: the pipe's writer reads one line from us
    local out, err, sent = {}, {}, false
    local p
    -- vclaunch's pid goes to dir/vcpid: a failing case kills it
    p = core.process{
      -- (an asynchronous list's stdin is /dev/null: the line comes by fd 3)
      argv = {"sh", "-c", 'f=$1; shift; exec 3<&0; { IFS= read -r line <&3; printf "%s\\n" "$line"; } | ' ..
              '"$0" "$@" 3<&- & echo $! > "$f"; wait $!', bin, dir .. "/vcpid",
              "--accel", "tcg", "--runtime-dir", dir .. "/run", recipe, guest},
      stdin = true,
      on_line = function(stream, line)
        local t = stream == "stdout" and out or err
        t[#t + 1] = (line:gsub("\r$", ""))
      end,
      on_partial = function(stream, text)
        -- the prompt comes without a newline: vclaunch echoes it at once
        -- (busybox's line editing may follow it with ESC[6n, asking where
        -- the cursor is)
        if stream == "stdout" and not sent and text:find("/ # ", 1, true) then
          sent = true
          p:write("echo hi-$((1+2)); sleep 1; echo AFTER-EOF; exit\n")
        end
      end}
    local okw, status = pcall(p.wait, p, 240)
    if not okw then
      local pid = tonumber(slurp(dir .. "/vcpid") or "")
      if pid then os.execute("kill -9 " .. pid) end
      pcall(p.write, p, "\n") -- the pipe's writer still waits for its line
      p:wait(60)
      p:close()
      error(status, 0)
    end
    p:close()
    local lines = {}
    for _, l in ipairs(out) do lines[l] = true end
    local all = table.concat(out, "\n")
    eq(sent, true, "no prompt seen:\n" .. all)
    eq(status.code, 0, "exit status; stderr:\n" .. table.concat(err, "\n"))
    eq(lines["hi-3"], true, "hi-3 in:\n" .. all)
    -- printed a second after stdin ended, then the guest powered off itself
    eq(lines["AFTER-EOF"], true, "AFTER-EOF in:\n" .. all)
    eq(lines["VCLAUNCH-GUEST-POWEROFF"], true, all)
    -- not a terminal: no raw mode, no escape key
    eq(table.concat(err, "\n"):find("Ctrl-]", 1, true), nil, table.concat(err, "\n"))
    -- no firmware escapes: terminal reset, clear screen, wrap off
    eq(all:find("\27[?7l", 1, true), nil, "ESC[?7l on stdout")
    eq(all:find("\27c", 1, true), nil, "ESC c on stdout")
    eq(all:find("\27[2J", 1, true), nil, "ESC[2J on stdout")
  end)
end)

os.execute("rm -rf '" .. dir .. "'")
