-- examples/luv.lua: vclaunch embedded in a luv program's event loop. The
-- host's heartbeat timer and TCP echo server must keep running while
-- vclaunch boots the test guest and shuts it down (if vclaunch blocked the
-- host loop, neither would run while the VM did).
local core = require "vclaunch.core"
local source = assert(os.getenv("VC_SOURCE_DIR"), "VC_SOURCE_DIR is not set")
local guest = assert(os.getenv("VC_GUEST_DIR"), "VC_GUEST_DIR is not set")

describe("examples/luv.lua", function()
  it("boots and stops a VM while luv's timer and echo server keep answering", function()
    local out, err = {}, {}
    local status
    core.spawn(function()
      local p = core.process{argv = {"lua5.4", source .. "/examples/luv.lua", guest},
                             on_line = function(stream, line)
                               local t = stream == "stdout" and out or err
                               t[#t + 1] = line
                             end}
      status = p:wait(300)
      p:close()
    end)
    core.run()
    local text = table.concat(out, "\n")
    eq(table.concat(err, "\n"), "", "stderr")
    eq(status.code, 0, "exit status")
    local ticks, echoes = text:match("host loop while the VM ran: (%d+) heartbeats, (%d+) echoes")
    eq(ticks ~= nil, true, text)
    eq(tonumber(ticks) >= 10, true, "heartbeats while the VM ran: " .. ticks)
    eq(tonumber(echoes) >= 5, true, "echoes while the VM ran: " .. echoes)
    eq(text:match("VM exit: 0") ~= nil, true, text)
  end)
end)
