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
