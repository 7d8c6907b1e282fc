-- The installed module in a stock lua5.4, as another Lua tool uses it:
-- require "vclaunch" finds init.lua, the arch policies and core.so where
-- `cmake --install` put them, and drives a real QEMU with vc.spawn/vc.run.
local vc = require "vclaunch"

describe("require 'vclaunch' from a stock lua5.4", function()
  it("loads the module, its arch policies and the core from the install tree", function()
    local stage = assert(os.getenv("VC_STAGE"), "VC_STAGE is not set")
    eq(package.searchpath("vclaunch", package.path):sub(1, #stage), stage, "vclaunch from stage")
    eq(package.searchpath("vclaunch.arch.amd64", package.path):sub(1, #stage), stage, "arch")
    eq(package.searchpath("vclaunch.core", package.cpath):sub(1, #stage), stage, "core.so")
    local argv = vc.pod{name = "stock", accel = "tcg", memory = 128}:argv()
    eq(argv[1], "qemu-system-x86_64")
  end)

  it("starts and stops a VM from tasks run by vc.run", function()
    vc.options.accel = "tcg"
    local status, exit
    vc.spawn(function()
      local vm = vc.pod{name = "stock", memory = 128, freeze = true}:start()
      status = vm:status()
      vm:execute("quit")
      exit = vm:wait()
    end)
    vc.run()
    eq(status, "prelaunch")
    eq(exit.code, 0, "quit ends QEMU with status 0")
  end)

  it("raises usage for a waiting call outside a task", function()
    local e = expect_error(vc.sleep, 0.01)
    eq(e.kind, "usage")
  end)
end)

describe("a stock lua5.4 host", function()
  local core = require "vclaunch.core"

  -- The entries of dir (ls -A), or {} when it does not exist.
  local function entries(dir)
    local names = {}
    vc.spawn(function()
      local p = core.process{argv = {"ls", "-A", dir}, on_line = function(stream, line)
        if stream == "stdout" then names[#names + 1] = line end
      end}
      p:wait(10)
      p:close()
    end)
    vc.run()
    return names
  end

  it("gets a usage error from start outside a task, before anything is started", function()
    local base = os.tmpname()
    os.remove(base)
    vc.options.runtime_dir = base
    local e = expect_error(function() return vc.pod{name = "outside", memory = 128}:start() end)
    vc.options.runtime_dir = nil
    eq(e.kind, "usage")
    eq(e.message, "start waits, so it must run in a vclaunch task (vclaunch.spawn)")
    eq(io.open(base) == nil, true, "no runtime dir was created")
    -- and the loop still works afterwards
    local ran
    vc.spawn(function() vc.sleep(0) ran = true end)
    vc.run()
    eq(ran, true)
  end)

  it("closes its state under a running VM: QEMU is killed, its runtime dir removed", function()
    local base = os.tmpname()
    os.remove(base)
    local script = os.tmpname()
    local f = assert(io.open(script, "w"))
    f:write(([[
local vc = require "vclaunch"
local core = require "vclaunch.core"
vc.options.accel = "tcg"
vc.options.runtime_dir = %q
vc.spawn(function()
  local vm = vc.pod{name = "left", memory = 128, freeze = true}:start()
  print(vm.proc:pid())
  core.stop()
  vm:wait()
end)
vc.run()
]]):format(base))
    f:close()
    local out, err, status = {}, {}
    vc.spawn(function()
      local p = core.process{argv = {"lua5.4", script}, on_line = function(stream, line)
        local t = stream == "stdout" and out or err
        t[#t + 1] = line
      end}
      status = p:wait(60)
      p:close()
    end)
    vc.run()
    os.remove(script)
    eq(table.concat(err, "\n"), "", "stderr")
    eq(status.code, 0, "lua5.4's status")
    local pid = out[1]
    eq(io.open("/proc/" .. tostring(pid) .. "/stat") == nil, true, "QEMU " .. tostring(pid) .. " is gone")
    eq(#entries(base), 0, "runtime dirs left: " .. table.concat(entries(base), " "))
    os.remove(base)
  end)
end)
