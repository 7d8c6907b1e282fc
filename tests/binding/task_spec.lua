-- Tasks: coroutines resumed by the libuv loop.
local core = require "vclaunch.core"

describe("tasks", function()
  it("never runs a spawned function inside spawn", function()
    local ran = false
    local t = core.spawn(function() ran = true end)
    eq(ran, false, "ran inside spawn")
    eq(t:status(), "pending")
    core.run()
    eq(ran, true, "ran from the loop")
    eq(t:status(), "done")
  end)

  it("interleaves tasks by their waits", function()
    local order = {}
    core.spawn(function()
      core.sleep(0.05); order[#order + 1] = "slow"
    end)
    core.spawn(function()
      core.sleep(0.01); order[#order + 1] = "fast"
    end)
    core.run()
    eq(table.concat(order, ","), "fast,slow")
  end)

  it("passes arguments and returns results through wait", function()
    local got
    core.spawn(function()
      local child = core.spawn(function(a, b)
        core.sleep(0)
        return a + b, "x", nil
      end, 2, 3)
      got = table.pack(child:wait())
    end)
    core.run()
    eq(got.n, 3, "result count")
    eq(got[1], 5)
    eq(got[2], "x")
  end)

  it("raises a task's error object in its waiter", function()
    local caught
    core.spawn(function()
      local child = core.spawn(function()
        core.sleep(0)
        error(core.error("qmp", "device_add 'disk1': Duplicate ID"))
      end)
      local ok, e = pcall(child.wait, child)
      caught = e
      return ok
    end)
    core.run()
    eq(type(caught), "table")
    eq(caught.kind, "qmp")
    eq(tostring(caught), "device_add 'disk1': Duplicate ID")
  end)

  it("refuses a waiting call outside a task with usage", function()
    local e = expect_error(core.sleep, 0)
    eq(e.kind, "usage")
    eq(tostring(e):match("sleep waits, so it must run in a vclaunch task") ~= nil, true,
       "message: " .. tostring(e))
  end)

  it("refuses waiting inside a plain coroutine of a task", function()
    local e
    core.spawn(function()
      local co = coroutine.wrap(function() core.sleep(0) end)
      local ok, err = pcall(co)
      e = err
      return ok
    end)
    core.run()
    eq(type(e), "table")
    eq(e.kind, "usage")
  end)
end)

describe("conditions", function()
  it("wakes waiters on signal, from the loop", function()
    local c = core.cond()
    local log = {}
    core.spawn(function()
      log[#log + 1] = "wait"
      local woken = c:wait(10)
      log[#log + 1] = tostring(woken)
    end)
    core.spawn(function()
      c:signal()
      log[#log + 1] = "signalled"
    end)
    core.run()
    eq(table.concat(log, ","), "wait,signalled,true")
  end)
  it("returns false on timeout", function()
    local got
    core.spawn(function() got = core.cond():wait(0.01) end)
    core.run()
    eq(got, false)
  end)
end)

describe("core.on_signal", function()
  it("calls the handler from the loop, and closes with a <close> scope", function()
    local f = assert(io.open("/proc/self/stat"))
    local pid = f:read("a"):match("^(%d+)")
    f:close()
    local got = {}
    local fired = core.cond()
    core.spawn(function()
      local w <close> = core.on_signal("USR2", function(signum)
        got[#got + 1] = signum
        fired:signal()
      end)
      local p = core.process{argv = {"kill", "-USR2", pid}}
      eq(p:wait().code, 0)
      p:close()
      if #got == 0 then fired:wait(10) end
    end)
    core.run()
    eq(#got, 1)
    eq(got[1], 12) -- SIGUSR2 on Linux
  end)
  it("refuses an unknown signal with a usage error", function()
    local e = expect_error(core.on_signal, "NOPE", function() end)
    eq(e.kind, "usage")
    eq(tostring(e):match("unknown signal 'NOPE'$") ~= nil, true, tostring(e))
  end)
end)
