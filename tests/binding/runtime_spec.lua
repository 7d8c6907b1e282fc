-- The task runtime: one wake path (the loop's ready queue), wait records
-- with timeouts, cancel, foreign yields, driving the loop from outside, and
-- closing the Lua state under waiting tasks.
local core = require "vclaunch.core"

local build = assert(os.getenv("VC_BUILD_DIR"), "VC_BUILD_DIR is not set")

-- Runs fn in a task to its end; returns what it returned, or raises its error.
local function in_task(fn)
  local t = core.spawn(fn)
  core.run()
  local r = table.pack(pcall(t.wait, t))
  if not r[1] then error(r[2], 2) end
  return table.unpack(r, 2, r.n)
end

-- Open fds of this process.
local fds = dofile(assert(os.getenv("VC_SOURCE_DIR"), "VC_SOURCE_DIR is not set") ..
                 "/tests/lua/fdcount.lua")

describe("the ready queue", function()
  it("runs a chain of 5000 tasks, each waiting for the one before", function()
    local first = core.spawn(function() core.sleep(0) return 0 end)
    local prev = first
    for i = 1, 5000 do
      local p = prev
      prev = core.spawn(function() return p:wait() + 1 end)
      if i % 1000 == 0 then collectgarbage() end
    end
    core.run()
    eq(select(2, pcall(prev.wait, prev)), 5000, "the last task's result")
  end)

  it("wakes a waiter only after the waking task yields, never inside it", function()
    local c, log = core.cond(), {}
    core.spawn(function() c:wait(10) log[#log + 1] = "woken" end)
    core.spawn(function()
      core.sleep(0.01)
      c:signal()
      log[#log + 1] = "signalled"
      core.sleep(0)
      log[#log + 1] = "after"
    end)
    core.run()
    eq(table.concat(log, ","), "signalled,woken,after")
  end)

  it("fails a task that calls coroutine.yield(), naming the line", function()
    local line
    local t = core.spawn(function()
      line = debug.getinfo(1, "l").currentline + 1
      coroutine.yield()
      return "never"
    end)
    core.run()
    eq(t:status(), "failed")
    local e = expect_error(t.wait, t)
    eq(e.kind, "usage")
    eq(e.where:match("runtime_spec%.lua:(%d+)$"), tostring(line), "where")
    eq(e.message:match("^coroutine%.yield%(%) in a vclaunch task") ~= nil, true, e.message)
  end)

  it("still lets a task run its own coroutines", function()
    local got = in_task(function()
      local gen = coroutine.wrap(function() coroutine.yield(1) coroutine.yield(2) end)
      core.sleep(0)
      return gen() + gen()
    end)
    eq(got, 3)
  end)
end)

describe("timeouts", function()
  it("task:wait(timeout) raises timeout and leaves the task running", function()
    local slow = core.spawn(function() core.sleep(0.3) return "late" end)
    local e = in_task(function()
      local ok, err = pcall(slow.wait, slow, 0.02)
      return (not ok) and err
    end)
    eq(e.kind, "timeout")
    eq(e.message, "task:wait: the task did not end within 0.02s")
    eq(slow:status(), "done")
  end)

  it("process:wait(timeout) raises timeout; the process is still there", function()
    local e, st = in_task(function()
      local p = core.process{argv = {"sleep", "5"}}
      local ok, err = pcall(p.wait, p, 0.05)
      p:kill(9)
      local status = p:wait(5)
      p:close()
      return (not ok) and err, status
    end)
    eq(e.kind, "timeout")
    eq(st.signal, 9)
  end)

  it("a timed-out cond wait is detached: a later signal wakes nobody", function()
    local c = core.cond()
    local r = in_task(function()
      local first = c:wait(0.01)
      c:signal()
      return first
    end)
    eq(r, false)
  end)
end)

describe("task:cancel", function()
  it("ends a waiting task from the loop: its <close> variables run", function()
    local closed = false
    local t = core.spawn(function()
      local guard <close> = setmetatable({}, {__close = function() closed = true end})
      core.sleep(100)
    end)
    in_task(function()
      core.sleep(0.01)
      t:cancel()
      eq(closed, false, "closed inside cancel") -- only from the loop
      local ok, e = pcall(t.wait, t)
      eq(ok, false)
      eq(e.kind, "cancelled")
    end)
    eq(closed, true, "the <close> ran")
    eq(t:status(), "cancelled")
  end)

  it("cancels what the task spawned, directly or not", function()
    local inner
    local outer = core.spawn(function()
      core.spawn(function()
        inner = core.spawn(function() core.sleep(100) end)
        core.sleep(100)
      end)
      core.sleep(100)
    end)
    in_task(function()
      core.sleep(0.01)
      outer:cancel()
      core.sleep(0)
    end)
    eq(outer:status(), "cancelled")
    eq(inner:status(), "cancelled")
  end)

  it("cancel_spawned ends the caller's children only", function()
    local child, other
    other = core.spawn(function() core.sleep(0.05) return "ok" end)
    in_task(function()
      child = core.spawn(function() core.sleep(100) end)
      core.sleep(0.01)
      core.cancel_spawned()
    end)
    eq(child:status(), "cancelled")
    eq(other:status(), "done")
  end)

  it("refuses to cancel the running task", function()
    local e = in_task(function()
      local me
      me = core.spawn(function()
        core.sleep(0)
        return select(2, pcall(me.cancel, me))
      end)
      return me:wait()
    end)
    eq(e.kind, "usage")
  end)
end)

describe("driving the loop from outside", function()
  it("exposes the backend fd and timeout, and runs once or without waiting", function()
    local fd = core.backend_fd()
    eq(math.type(fd), "integer")
    eq(fd >= 0, true, "backend fd")
    local done = false
    core.spawn(function() core.sleep(0.05) done = true end)
    eq(core.backend_timeout(), 0, "a new task is ready at once")
    eq(core.run("nowait"), true, "work left after one turn")
    local t = core.backend_timeout()
    eq(t > 0 and t <= 50, true, "timeout until the sleep ends: " .. t)
    local turns = 0
    while core.run("once") do turns = turns + 1 end
    eq(done, true)
    eq(turns < 10, true, "turns: " .. turns)
  end)

  it("refuses run inside a task and inside a handler", function()
    local e = in_task(function() return select(2, pcall(core.run)) end)
    eq(e.kind, "usage")
    local got
    local w <close> = core.on_signal("USR1", function() got = select(2, pcall(core.run)) end)
    in_task(function()
      local pid = io.open("/proc/self/stat"):read("a"):match("^%d+")
      local p = core.process{argv = {"kill", "-USR1", pid}}
      p:wait(10)
      p:close()
      while not got do core.sleep(0.01) end
    end)
    eq(got.kind, "usage")
  end)
end)

describe("closing the Lua state", function()
  -- A host (lua_host here) whose script stops the loop with tasks still
  -- waiting on a sleep, a cond, a process and a QMP connect, then returns:
  -- lua_close must release everything without running Lua from a finalizer.
  it("releases waiting tasks, processes and timers without a crash", function()
    local script = os.tmpname()
    local pidfile = os.tmpname()
    local f = assert(io.open(script, "w"))
    f:write(([[
local core = require "vclaunch.core"
local p = core.process{argv = {"sh", "-c", "echo $$ > %s; exec sleep 100"}}
core.spawn(function() core.sleep(100) end)
core.spawn(function() core.cond():wait(100) end)
core.spawn(function() p:wait() end)
core.spawn(function() core.sleep(0.2) core.stop() end)
core.run()
print("stopped")
]]):format(pidfile))
    f:close()
    local out = {}
    local code = in_task(function()
      local h = core.process{argv = {build .. "/tests/lua_host", script},
                             on_line = function(_, line) out[#out + 1] = line end}
      local st = h:wait(60)
      h:close()
      return st.code
    end)
    os.remove(script)
    local child = io.open(pidfile):read("a"):match("%d+")
    os.remove(pidfile)
    eq(table.concat(out, "\n"), "stopped")
    eq(code, 0, "lua_host's status")
    eq(io.open("/proc/" .. child .. "/stat") == nil, true, "the child process is gone")
  end)
end)

describe("a process's stdin and partial lines", function()
  it("writes to stdin and sees a prompt before its newline", function()
    local partial, lines = {}, {}
    local c = core.cond()
    local st = in_task(function()
      local p = core.process{argv = {"sh", "-c", 'printf "name? "; read x; echo "hello $x"'},
                             stdin = true,
                             on_partial = function(_, text) partial[#partial + 1] = text c:signal() end,
                             on_line = function(_, line) lines[#lines + 1] = line c:signal() end}
      while #partial == 0 do c:wait(10) end
      p:write("vm\n")
      local status = p:wait(10)
      p:close()
      return status
    end)
    eq(st.code, 0)
    eq(partial[1], "name? ")
    eq(lines[1], "name? hello vm")
  end)

  it("refuses a write to a process without a stdin pipe", function()
    local e = in_task(function()
      local p = core.process{argv = {"true"}}
      local ok, err = pcall(p.write, p, "x")
      p:wait(10)
      p:close()
      return (not ok) and err
    end)
    eq(e.message:match("no stdin to write to$") ~= nil, true, tostring(e))
  end)
end)

describe("file descriptors", function()
  it("a process that exited holds none, even before it is collected", function()
    local before = fds()
    local keep = {}
    in_task(function()
      for i = 1, 20 do
        local p = core.process{argv = {"true"}, on_line = function() end}
        p:wait(10)
        keep[i] = p -- not collected
      end
    end)
    eq(fds(), before, "open fds")
  end)
end)

