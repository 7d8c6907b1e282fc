-- Live operations on a running VM: hot-plug and unplug of pod concepts.
--
-- An item goes through the same concept row as at vclaunch.pod time (its
-- schema, the arch's capability, the row's rules, the arch appender) and
-- the same kind tables (core.hotplug writes the QMP commands from them).
-- Placement is the arch policy's (hotplug_place); ids, controllers and
-- devnos continue from where the pod's own devices stopped. A failure after
-- the first QMP command removes what was added, newest first. An unplug
-- arms the wait for DEVICE_DELETED before device_del, and frees the place
-- and the ids only once the backends are gone.
local core = require "vclaunch.core"
local errors = require "vclaunch.errors"
local concepts = require "vclaunch.concepts"
local archs = require "vclaunch.arch"
local helpers = require "vclaunch.helpers"

local M = {}

local fail, log = errors.fail, errors.log

-- Concepts whose items can be hot-plugged (lists of items), and raw devices.
local HOTPLUG = {drives = true, endpoints = true, volumes = true, sockets = true,
                 vhost_user = true, vfio = true, devices = true}
-- Controllers an appender adds once and later items share: they stay.
local SHARED = {["virtio-scsi"] = true, ["virtio-serial"] = true}

local function copy_ctx(ctx)
  local c = {}
  for k, v in pairs(ctx) do c[k] = v end
  c.counters = {}
  for k, v in pairs(ctx.counters or {}) do c.counters[k] = v end
  return c
end

local function restore_ctx(ctx, saved)
  for k in pairs(ctx) do ctx[k] = nil end
  for k, v in pairs(saved) do ctx[k] = v end
end

-- The VM's live state, made at the first live operation.
local function state(vm)
  if not vm._live then
    local seen = {}
    for id, what in pairs(vm.pod:_base().seen) do seen[id] = what end
    vm._live = {ctx = vm.pod:placement(), seen = seen, used = {}, devices = {}, order = {},
                count = {}}
  end
  return vm._live
end

--- Arms a wait for the next event called name whose data holds match, from
--- now on: returns a function(timeout) that waits for it. Arm before the
--- command whose event it is, so a quick event is not missed.
function M.arm(vm, name, match)
  local seq = vm.events_last
  return function(timeout)
    return vm:wait_event(name, {match = match, timeout = timeout, after = seq})
  end
end

-- Whether QEMU reported device id deleted after event seq `since`: the
-- guest can have a device removed on its own (it powers a PCIe slot off,
-- or ejects it), and a guest that finishes a slot's earlier removal late
-- can power off a device just plugged into that slot.
local function deleted_since(vm, id, since)
  for _, ev in ipairs(vm:events()) do
    if ev.seq > since and ev.event == "DEVICE_DELETED" and ev.data and ev.data.device == id then
      return true
    end
  end
  return false
end

-- Runs undo commands (newest first); device_del waits for its
-- DEVICE_DELETED, armed before the command. A device QEMU already deleted
-- after event seq `since` needs no device_del; its backends still go.
-- Raises on the first failure.
local function run_undo(vm, undo, timeout, since)
  for _, c in ipairs(undo) do
    if c.command == "closefd" then
      -- only what no backend took over is still named: the rest is gone
      pcall(vm.execute, vm, c.command, c.arguments, timeout)
    elseif c.command == "device_del" then
      local id = c.arguments.id
      local deleted = M.arm(vm, "DEVICE_DELETED", {device = id})
      local ok, e = pcall(vm.execute, vm, c.command, c.arguments, timeout)
      if ok then
        deleted(timeout)
      elseif since and type(e) == "table" and e.class == "DeviceNotFound" and
             deleted_since(vm, id, since) then
        log("info", "%s: %s was already deleted by QEMU (DEVICE_DELETED)", vm.name, id)
      else
        error(e, 0)
      end
    else
      vm:execute(c.command, c.arguments, timeout)
    end
  end
end

-- The PCI path of device id from the root bus ("02/01": the slot on each
-- bus, in hex), from query-pci; nil when not found.
local function pci_path(vm, id)
  local function walk(devices, prefix)
    for _, d in ipairs(devices or {}) do
      local p = prefix .. ("%02x"):format(d.slot)
      if d.qdev_id == id then return p end
      local bridge = d.pci_bridge
      if bridge then
        local r = walk(bridge.devices, p .. "/")
        if r then return r end
      end
    end
  end
  for _, bus in ipairs(vm:execute("query-pci")) do
    local r = walk(bus.devices, "")
    if r then return r end
  end
end

-- The SCSI address "host:channel:target:lun" of the scsi device id on
-- the virtio-scsi controller whose bus is bus ("scsi0.0"), as the guest
-- shows it under /sys/bus/scsi/devices. The target and lun are what QEMU
-- gave the device (qom-get); the host is the controller's number among
-- vclaunch's SCSI controllers (scsi0: 0), which is the guest's SCSI host
-- number when the guest registers no other SCSI host before it (an AHCI or
-- USB storage driver would take host numbers first).
local function scsi_path(vm, id, bus)
  local path = "/machine/peripheral/" .. id
  local function prop(name) return vm:execute("qom-get", {path = path, property = name}) end
  local host = tonumber(tostring(bus):match("^scsi(%d+)%.0$")) or 0
  return ("%d:%d:%d:%d"):format(host, prop("channel"), prop("scsi-id"), prop("lun"))
end

local Device = {}
Device.__index = Device
M.Device = Device

function Device:__tostring()
  return ("%s %s (%s)"):format(self.kind, self.id, self.guest_path or self.bus or "-")
end

--- Unplugs the device: see vm:unplug.
function Device:unplug(opts)
  return self.vm:unplug(self, opts)
end

-- The checked, placed item: everything vm:hotplug decides before its first
-- QMP command. It takes the item's place and ids in the VM's live state;
-- undo_state() gives them back. Sends nothing.
local function prepare(vm, concept, item)
  if not HOTPLUG[concept] then
    fail("usage", ("vm:hotplug: '%s' is not a concept that can be hot-plugged (drives, " ..
                   "endpoints, volumes, sockets, vhost_user, vfio, devices)"):format(tostring(concept)))
  end
  if type(item) ~= "table" then fail("usage", "vm:hotplug: expected an item table") end
  local st = state(vm)
  local pod = vm.pod
  if require("vclaunch.resize").tcg_cpu_removed(vm) then
    -- QEMU 7.2 under TCG aborts on the next change to the memory map once a
    -- vCPU was removed (docs/live.md, Resizing)
    fail("recipe", ("vm:hotplug: %s had a vCPU removed under TCG, after which QEMU 7.2 " ..
                    "aborts on a hot-plug"):format(vm.name))
  end
  local allowed = (pod.arch.capabilities or {}).hotplug
  if allowed and not allowed[concept] then
    fail("recipe", ("vm:hotplug: %s cannot hot-plug %s"):format(pod.arch.name, concept))
  end
  local index = #(pod.spec[concept] or {}) + (st.count[concept] or 0) + 1
  concepts.check_item(concept, item, pod, index)
  local saved = copy_ctx(st.ctx)
  local shared_before = st.ctx.needs_shared_memory or (pod.spec.knobs or {}).shared_memory
                        or pod.spec.hotplug_vhost_user
  -- The recipe's fds (a tap's queues): passed with getfd under names
  -- vclaunch gives, which the device's options then name.
  local fds = {}
  st.ctx.fd = function(_, fd)
    st.nfd = (st.nfd or 0) + 1
    fds[#fds + 1] = {name = "vcfd" .. st.nfd, fd = fd}
    return fds[#fds].name
  end
  local ok, devs, froms = pcall(concepts.build_item, concept, item, pod, st.ctx, index)
  if not ok then
    restore_ctx(st.ctx, saved)
    errors.rethrow(devs, "recipe")
  end
  local where = ("pod.%s[%d]"):format(concept, index)
  -- a virtio-fs volume without a socket: vclaunch's virtiofsd, started by
  -- vm:hotplug on this socket in the VM's runtime dir
  local served = concept == "volumes" and helpers.wants_virtiofsd(item)
  if served then
    local file = helpers.socket_file(index)
    for _, dev in ipairs(devs) do
      if dev[2].socket == file then dev[2].socket = vm.dir and core.socket_path(vm.dir, file) or file end
    end
  end
  if st.ctx.needs_shared_memory and not shared_before then
    restore_ctx(st.ctx, saved)
    fail("recipe", ("%s: a vhost-user device needs the guest memory shared from the start " ..
                    "(pod.hotplug_vhost_user = true)"):format(where))
  end

  -- Place each device and give it a device id; then the QMP commands.
  local plan, seen_added, used_added = {}, {}, {}
  local function undo_state()
    restore_ctx(st.ctx, saved)
    for _, id in ipairs(seen_added) do st.seen[id] = nil end
    for _, key in ipairs(used_added) do st.used[key] = nil end
  end
  for i, dev in ipairs(devs) do
    local kind, f = dev[1], dev[2]
    local info = concepts.kind_info(kind)
    if info.device_id and f.device_id == nil then f.device_id = (f.id or f.chardev) .. "-dev" end
    -- What QMP cannot add is refused before anything is placed.
    local okcan, e = pcall(core.hotplug, kind, f)
    if not okcan and not (type(e) == "table" and e.message:find("without a device id", 1, true)) then
      undo_state()
      errors.rethrow(concepts.translate(e, froms[i]), "recipe")
    end
    local place = {}
    if info.bus and f.bus == nil and (f.transport or info.transport or "pci") == "pci" then
      local p, why = archs.call(pod.arch, "hotplug_place", st.ctx, st.used)
      if not p then
        undo_state()
        fail("recipe", ("%s: %s"):format(where, why))
      end
      place = p
      f.bus, f.addr = p.bus, p.addr or f.addr
      if p.key then
        st.used[p.key] = true
        used_added[#used_added + 1] = p.key
      end
    elseif f.transport == "mmio" then
      undo_state()
      fail("recipe", ("%s: machine %s has no device hot-plug"):format(where, pod.machine))
    end
    local okemit, e, ids = pcall(concepts.emit, dev, froms[i], st.seen)
    if not okemit then
      undo_state()
      errors.rethrow(e, "recipe")
    end
    for _, id in ipairs(ids) do seen_added[#seen_added + 1] = id end
    local okhp, plug, unplug = pcall(core.hotplug, kind, f)
    if not okhp then
      undo_state()
      errors.rethrow(concepts.translate(plug, froms[i]), "recipe")
    end
    plan[i] = {kind = kind, fields = f, plug = plug, unplug = unplug, place = place, ids = ids}
  end
  return plan, fds, undo_state, where, st, served and index
end

--- The QMP commands vm:hotplug(concept, item) would send now, in order
--- ({command =, arguments =}; a recipe fd as getfd with the name vclaunch
--- gives it), and the places it would take ({bus =, addr =} per device):
--- checked and placed as vm:hotplug does, raising the same refusals, but
--- sending nothing and taking no place or id. A pure step: the goldens of
--- what cannot be plugged here (VFIO, vsock) test it.
function M.plan(vm, concept, item)
  local nfd = state(vm).nfd
  local plan, fds, undo_state, _, st = prepare(vm, concept, item)
  undo_state()
  st.nfd = nfd
  local cmds, places = {}, {}
  for _, f in ipairs(fds) do
    cmds[#cmds + 1] = {command = "getfd", arguments = {fdname = f.name}}
  end
  for _, p in ipairs(plan) do
    for _, c in ipairs(p.plug) do cmds[#cmds + 1] = c end
    places[#places + 1] = {kind = p.kind, bus = p.fields.bus, addr = p.fields.addr}
  end
  return cmds, places
end

--- Hot-plugs item of concept ("drives", "endpoints", "volumes", "sockets",
--- "vhost_user", "vfio", or "devices" with a raw {kind, fields}) into the
--- running VM; returns a Device {id, concept, kind, bus, addr, guest_path}.
--- opts.timeout bounds each QMP command (default 30 s).
function M.hotplug(vm, concept, item, opts)
  core.check_task("vm:hotplug")
  vm:_check()
  opts = opts or {}
  local plan, fds, undo_state0, where, st, served = prepare(vm, concept, item)
  local since = vm.events_last -- a DEVICE_DELETED after this is for this plug
  local helper -- the virtiofsd vclaunch serves a virtio-fs volume with
  local function undo_state()
    if helper then pcall(helpers.stop_helper, vm, helper, opts.timeout) end
    undo_state0()
  end
  if served then
    local okh, e = pcall(helpers.start_hotplug, vm, item, served)
    if not okh then
      undo_state()
      errors.rethrow(e, "process")
    end
    helper = e
  end

  -- Run them; on a failure, remove what was added, newest first.
  local undone = {} -- the undo commands of what ran, newest first
  local fd_undo = {}
  for _, f in ipairs(fds) do
    local okfd, e = pcall(vm.getfd, vm, f.name, f.fd)
    if not okfd then
      pcall(run_undo, vm, fd_undo, opts.timeout)
      undo_state()
      errors.rethrow(e, "qmp")
    end
    table.insert(fd_undo, 1, {command = "closefd", arguments = {fdname = f.name}})
  end
  for _, u in ipairs(fd_undo) do undone[#undone + 1] = u end
  for _, p in ipairs(plan) do
    for j, c in ipairs(p.plug) do
      local okx, e = pcall(vm.execute, vm, c.command, c.arguments, opts.timeout)
      if not okx then
        pcall(run_undo, vm, undone, opts.timeout)
        undo_state()
        local msg = type(e) == "table" and e.message or tostring(e)
        fail(type(e) == "table" and e.kind or "qmp",
             ("%s: hot-plug failed at %s (%s): %s"):format(where, c.command, p.kind, msg), e)
      end
      table.insert(undone, 1, p.unplug[#p.unplug - j + 1])
    end
  end
  st.count[concept] = (st.count[concept] or 0) + 1

  -- The item's own devices (not the controllers later items share).
  local own_undo, ids, keys = {}, {}, {}
  local main
  for _, p in ipairs(plan) do
    if not SHARED[p.kind] then
      for j = #p.unplug, 1, -1 do table.insert(own_undo, 1, p.unplug[j]) end
      for _, id in ipairs(p.ids) do ids[#ids + 1] = id end
      if p.place.key then keys[#keys + 1] = p.place.key end
      main = p
    end
  end
  -- (no closefd here: the backend that named a getfd fd took it over)
  local f = main.fields
  local id = f.device_id or f.id
  local d = setmetatable({vm = vm, id = id, concept = concept, kind = main.kind, bus = f.bus,
                          addr = f.addr, _undo = own_undo, _ids = ids, _keys = keys,
                          _helper = helper, _since = since}, Device)
  if f.transport == "ccw" and f.devno then
    d.guest_path = "0.0." .. f.devno:match("(%x+)$")
  elseif main.kind == "scsi-hd" then
    d.guest_path = scsi_path(vm, id, f.bus)
  elseif main.place.key then
    d.guest_path = pci_path(vm, id)
  end
  st.devices[id] = d
  st.order[#st.order + 1] = d
  return d
end

--- Unplugs a hot-plugged device (a Device or its id): device_del, then
--- its DEVICE_DELETED (armed before), then its backends. Its place and ids
--- are free again only after that. opts.timeout: per step (default 30 s).
function M.unplug(vm, dev, opts)
  core.check_task("vm:unplug")
  vm:_check()
  opts = opts or {}
  local st = state(vm)
  local id = type(dev) == "table" and dev.id or dev
  local d = st.devices[id]
  if not d then
    M.devices(vm)
    d = st.cold[id]
    if d and d._refused then fail("usage", ("vm:unplug: %s: %s"):format(id, d._refused)) end
  end
  if not d then
    fail("usage", ("vm:unplug: no device '%s' in %s that can be unplugged"):format(tostring(id),
         vm.name))
  end
  local ok, e = pcall(run_undo, vm, d._undo, opts.timeout or 30, d._since or (d.cold and 0))
  if not ok then errors.rethrow(e, "qmp") end
  -- the virtiofsd vclaunch started for it (the chardev is gone: it ends)
  if d._helper then helpers.stop_helper(vm, d._helper, opts.timeout or 30) end
  for _, i in ipairs(d._ids) do st.seen[i] = nil end
  for _, key in ipairs(d._keys) do st.used[key] = nil end
  st.devices[id] = nil
  if d.cold then
    st.cold[id] = nil
    d.gone = true
  end
  for i, x in ipairs(st.order) do
    if x == d then table.remove(st.order, i) break end
  end
end

--- Every device of the VM: the pod's own ({kind =, fields =, origin =,
--- cold = true}) in command-line order, then the hot-plugged Devices.
function M.devices(vm)
  local st = state(vm)
  if not st.cold_list then
    -- Made once per VM: the pod's own devices. The devices of one concept
    -- item (pod.drives[1]: the disk; pod.sockets[2]: chardev and port) are
    -- one Device, named by its device id, that vm:unplug takes; the
    -- controllers items share and the rest stay plain tables.
    st.cold, st.cold_list = {}, {}
    local devs, froms = vm.pod:_build()
    local items = {}
    for i, dev in ipairs(devs) do
      local origin = froms[i] and froms[i].origin
      local t = {kind = dev[1], fields = dev[2], origin = origin, cold = true}
      st.cold_list[#st.cold_list + 1] = t
      local concept = origin and origin:match("^pod%.([%w_]+)%[%d+%]$")
      if concept and HOTPLUG[concept] and not SHARED[dev[1]] then
        local item = items[origin]
        if not item then
          item = {concept = concept, parts = {}}
          items[origin], items[#items + 1] = item, origin
        end
        item.parts[#item.parts + 1] = t
      end
    end
    for _, origin in ipairs(items) do
      local item = items[origin]
      local main = item.parts[#item.parts]
      local f = main.fields
      local id = f.device_id
      if not id and not concepts.kind_info(main.kind).device_id then id = f.id end
      if id then
        local d = setmetatable({vm = vm, id = id, concept = item.concept, kind = main.kind,
                                bus = f.bus, addr = f.addr, fields = f, origin = origin,
                                cold = true, _ids = {}, _keys = {}}, Device)
        d._refused = archs.call(vm.pod.arch, "cold_unplug", st.ctx, main.kind, f)
        -- the backends the devices of the item made (newest first), after the device
        local undo = {}
        for j = #item.parts, 1, -1 do
          local p = item.parts[j]
          local ok, _, unplug = pcall(core.hotplug, p.kind, p.fields)
          if not ok then
            d._refused = d._refused or ("%s cannot be unplugged: %s"):format(p.kind,
                         type(_) == "table" and _.message or tostring(_))
            break
          end
          for _, c in ipairs(unplug) do
            -- a -drive's block backend goes with its device (QEMU deletes
            -- it itself): there is no node to blockdev-del
            if c.command ~= "blockdev-del" then undo[#undo + 1] = c end
          end
        end
        d._undo = undo
        st.cold[id] = d
        for j, t in ipairs(st.cold_list) do
          if t == main then st.cold_list[j] = d end
        end
      end
    end
  end
  local out = {}
  for _, t in ipairs(st.cold_list) do
    if not t.gone then out[#out + 1] = t end
  end
  for _, d in ipairs(st.order) do out[#out + 1] = d end
  return out
end

return M
