-- What vclaunch tells the world about its VMs, besides the console:
--
-- - events: one JSON object per line for each lifecycle step of a VM
--   (starting, qmp-ready, guest-ready, stopping, shutdown-step, exited,
--   failed, and whatever other modules emit, e.g. panicked) and each QMP
--   event, to options.events: a file name (appended to), or "-" for
--   stderr. Every line starts with "time" (UTC, ISO 8601, microseconds),
--   "vm" (the VM's name), "event" and "type" ("lifecycle" or "qmp").
-- - the service manager: with options.notify (the CLI sets it from
--   NOTIFY_SOCKET), READY=1 when the first VM's QMP is up and STOPPING=1
--   when vclaunch begins to shut down (M.notify), each once.
-- - progress lines on stderr (errors.progress): one per step.
local core = require "vclaunch.core"
local options = require "vclaunch.options"
local errors = require "vclaunch.errors"

local M = {}

local sink, sink_for -- the open events file and the options.events it is for

--- Opens options.events now (the CLI does, so that a file that cannot be
--- written fails at once); returns true or nil and a message.
function M.open()
  if sink_for == options.events and (sink or not options.events) then return true end
  if sink and sink ~= io.stderr then sink:close() end
  sink, sink_for = nil, options.events
  if not options.events then return true end
  if options.events == "-" then
    sink = io.stderr
    return true
  end
  local f, err = io.open(options.events, "a")
  if not f then return nil, err end
  f:setvbuf("line")
  sink = f
  return true
end

--- Closes the events file (the CLI, at exit).
function M.close()
  if sink and sink ~= io.stderr then sink:close() end
  sink, sink_for = nil, nil
end

local function iso(sec, usec)
  return os.date("!%Y-%m-%dT%H:%M:%S", sec) .. (".%06dZ"):format(usec)
end

local function write(name, event, kind, fields, sec, usec)
  if not options.events then return end
  if sink_for ~= options.events and not M.open() then
    errors.log("error", "--events %s: cannot open; events are not written", options.events)
    options.events = nil
    return
  end
  if not sink then return end
  -- the first keys in a fixed order, for people reading the stream; the
  -- rest as json_encode writes them
  local head = ('{"time":%s,"vm":%s,"event":%s,"type":%s'):format(core.json_encode(iso(sec, usec)),
    core.json_encode(name), core.json_encode(event), core.json_encode(kind))
  local ok, rest = pcall(core.json_encode, fields or {})
  if not ok then rest = core.json_encode({error = tostring(rest)}) end
  local line = head .. (rest == "{}" and "}" or ("," .. rest:sub(2)))
  local okw, err = sink:write(line, "\n")
  if okw and sink == io.stderr then okw, err = sink:flush() end
  if not okw then
    io.stderr:write("vclaunch: --events: ", tostring(err), "; events are no longer written\n")
    options.events = nil
  end
end

--- Writes one lifecycle line: vm (a VM or a name), event ("starting",
--- "panicked", ...), fields (a table of more keys, JSON-encodable).
function M.emit(vm, event, fields)
  local name = type(vm) == "table" and vm.name or tostring(vm)
  local sec, usec = core.realtime()
  write(name, event, "lifecycle", fields, sec, usec)
  if event == "qmp-ready" then M.notify("READY=1", ("%s: QMP ready"):format(name)) end
end

--- Writes one QMP event line, with QEMU's own timestamp.
function M.qmp(vm, ev)
  local ts = type(ev.timestamp) == "table" and ev.timestamp
  local sec, usec = ts and ts.seconds, ts and ts.microseconds
  if not (math.type(sec) == "integer" and math.type(usec) == "integer") then
    sec, usec = core.realtime()
  end
  write(vm.name, ev.event, "qmp", ev.data ~= nil and {data = ev.data} or nil, sec, usec)
end

local notified = {}
--- Sends state ("READY=1", "STOPPING=1") to the service manager, once per
--- state and process, when options.notify names its socket; status: a
--- STATUS= text sent with it.
function M.notify(state, status)
  if not options.notify or notified[state] then return end
  notified[state] = true
  local msg = state .. (status and ("\nSTATUS=" .. status:gsub("\n", " ")) or "")
  local ok, err = core.sd_notify(options.notify, msg)
  if not ok then errors.log("info", "%s", err) end
end

return M
