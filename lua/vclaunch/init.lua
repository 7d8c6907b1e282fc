-- vclaunch: launch and drive QEMU virtual machines described in Lua.
--
--   local vc = require "vclaunch"
--   local vm = vc.pod{name = "demo", kernel = {path = "bzImage"}}:start()
--   vm.console:expect("login:", 30)
--   vm:shutdown{timeout = 10}
--
-- The pod fields, the device kinds and arch overrides (vc.arch(name) and
-- policy:extend{...}) are described in docs/pods.md.
--
-- Waiting calls (start, execute, wait_event, expect, shutdown, wait,
-- sleep) must run in a task: the CLI runs the recipe in one; other tools
-- use vc.spawn(fn) and vc.run(). This file is the facade: the parts live in
-- vclaunch.errors, .schema, .pod, .host, .console and .vm.
local core = require "vclaunch.core"
local pod = require "vclaunch.pod"
local vm = require "vclaunch.vm"

local M = {}

M.sleep = core.sleep
M.spawn = core.spawn
M.run = core.run -- run([mode]): "default", "once" or "nowait"
-- Embedding in another event loop: poll backend_fd() for reading, wake up
-- after backend_timeout() ms (-1: no timer), then run("nowait").
M.backend_fd = core.backend_fd
M.backend_timeout = core.backend_timeout
M.error = core.error

-- Settings from the CLI (or the embedding tool): accel, runtime_dir,
-- log_level, echo_console.
M.options = require "vclaunch.options"

M.pod = pod.pod
M.arch = require("vclaunch.arch").arch
M.start = vm.start
M.host = function() return require "vclaunch.host" end

-- VMs still running; the CLI stops what a finished recipe left behind.
M._live = vm.live

return M
