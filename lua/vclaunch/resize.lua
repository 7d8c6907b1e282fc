-- Live operations on a running VM: resizing its vCPUs, its memory and its
-- balloon.
--
-- vCPUs are hot-added into the free slots query-hotpluggable-cpus lists
-- (device_add of the slot's CPU type with the slot's props) and removed
-- last added first; the boot CPUs (pod.vcpus) are never removed. Memory
-- grows by one pc-dimm per call (a memory backend the knobs select, then
-- the pc-dimm on it), within pod.max_memory and pod.memory_slots; it does
-- not shrink. The balloon sets a target and waits, bounded, for the guest
-- to move. What the pod does not allow is refused before any QMP command,
-- and so is what QEMU 7.2 does not survive under TCG once a vCPU was
-- removed (see tcg_cpu_removed).
-- The ids vclaunch assigns (cpu-N, dimmN, dimmN-mem) skip those the pod
-- uses.
local core = require "vclaunch.core"
local errors = require "vclaunch.errors"
local archs = require "vclaunch.arch"

local M = {}

local fail = errors.fail
local MiB = 1024 * 1024

-- The VM's resize state, made at the first resize.
local function state(vm)
  if not vm._resize then
    vm._resize = {cpus = {}, cpu_ids = {}, dimms = {}, dimm_ids = {}, removed_cpu = false}
  end
  return vm._resize
end

-- Whether id is taken by the pod's devices or by a hot-plugged one.
local function id_taken(vm, id)
  if vm.pod:_base().seen[id] then return true end
  return vm._live ~= nil and vm._live.seen[id] ~= nil
end

local function check_count(what, v, min)
  if math.type(v) ~= "integer" or v < min then
    fail("usage", ("%s: expected an integer >= %d, got %s"):format(what, min, tostring(v)))
  end
end

-- ---- vCPUs ----------------------------------------------------------------

-- The order of the topology props, outermost first: free slots are taken
-- in this order, so that hot-added CPUs follow the boot ones.
local PROPS = {"node-id", "drawer-id", "book-id", "socket-id", "die-id", "cluster-id",
               "core-id", "thread-id"}

local function slot_before(a, b)
  for _, p in ipairs(PROPS) do
    local x, y = a.props[p] or -1, b.props[p] or -1
    if x ~= y then return x < y end
  end
  return false
end

-- The slot (an entry of query-hotpluggable-cpus) whose CPU is the device
-- id, or nil.
local function slot_of(slots, id)
  local path = "/machine/peripheral/" .. id
  for _, s in ipairs(slots) do
    if s["qom-path"] == path then return s end
  end
end

local function present_cpus(vm, timeout)
  return #vm:execute("query-cpus-fast", nil, timeout)
end

-- Whether the VM runs under TCG (no KVM), asked once per VM before the
-- first removal: what a removal breaks under TCG is refused afterwards
-- without asking QEMU again.
local function tcg(vm, st, timeout)
  if st.tcg == nil then
    local ok, k = pcall(vm.execute, vm, "query-kvm", nil, timeout)
    st.tcg = not (ok and k.enabled)
  end
  return st.tcg
end

--- Whether a vCPU was removed from vm under TCG. After that, QEMU 7.2
--- aborts (heap corruption: "corrupted double-linked list", "double free
--- or corruption") at the next change of the guest's memory map: a vCPU
--- added again, a pc-dimm added, a PCI device hot-plugged, a reset of the
--- guest. resize_vcpus and resize_memory refuse to add then.
---@param vm table the VM
---@return boolean
function M.tcg_cpu_removed(vm)
  local st = vm._resize
  return st ~= nil and st.removed_cpu and st.tcg == true
end

local function add_cpu(vm, st, present, n, opts)
  -- QEMU answers a machine without vCPU hot-plug (microvm; virt in 7.2)
  -- that the feature is not enabled.
  local okq, slots = pcall(vm.execute, vm, "query-hotpluggable-cpus", nil, opts.timeout)
  if not okq then
    if type(slots) ~= "table" or slots.kind ~= "qmp" then errors.rethrow(slots, "qmp") end
    fail("qmp", ("vm:resize_vcpus: machine %s has no vCPU hot-plug here: %s"):format(
         vm.pod.machine, slots.message), slots)
  end
  local free = {}
  for _, s in ipairs(slots) do
    if not s["qom-path"] then free[#free + 1] = s end
  end
  if #free == 0 then
    fail("qmp", ("vm:resize_vcpus: %s has no free vCPU slot left (query-hotpluggable-cpus)"):format(
         vm.name))
  end
  table.sort(free, slot_before)
  local slot = free[1]
  local count = slot["vcpus-count"] or 1
  if present + count > n then
    fail("usage", ("vm:resize_vcpus: %d vCPUs: %s adds vCPUs %d at a time (%d present)"):format(
         n, vm.name, count, present))
  end
  local k = 1
  local id
  repeat
    id = "cpu-" .. (vm.pod.spec.vcpus or 1) + k - 1
    k = k + 1
  until not st.cpu_ids[id] and not id_taken(vm, id)
  local args = {driver = slot.type, id = id}
  for p, v in pairs(slot.props) do args[p] = v end
  local ok, e = pcall(vm.execute, vm, "device_add", args, opts.timeout)
  if not ok then
    fail(type(e) == "table" and e.kind or "qmp",
         ("vm:resize_vcpus: device_add %s (%s) failed: %s"):format(id, slot.type,
         type(e) == "table" and e.message or tostring(e)), e)
  end
  st.cpus[#st.cpus + 1] = {id = id, count = count}
  st.cpu_ids[id] = true
end

-- Removes the vCPU added last and waits until its slot is free again.
-- Under TCG, QEMU 7.2 reports the removal with a DEVICE_DELETED whose path
-- is the CPU's lapic child (".../cpu-N/lapic") and that has no device
-- field, and no event names the CPU itself: there is no event to wait
-- for. The slot's qom-path going away in query-hotpluggable-cpus is what
-- says the CPU is gone, so that is polled, with small sleeps, up to
-- opts.timeout.
local function remove_cpu(vm, st, opts)
  local c = st.cpus[#st.cpus]
  vm:execute("device_del", {id = c.id}, opts.timeout)
  if st.tcg and not st.removed_cpu and vm.pod.spec.reboot then
    -- A reset after a TCG vCPU removal aborts QEMU 7.2 too: a guest reboot
    -- ends QEMU instead (SHUTDOWN, reason guest-reset), as without
    -- pod.reboot.
    vm:execute("set-action", {reboot = "shutdown"}, opts.timeout)
  end
  st.removed_cpu = true -- from here on, under TCG, adding is refused (tcg_cpu_removed)
  local deadline = core.now() + opts.timeout
  local pause = 0.02
  while slot_of(vm:execute("query-hotpluggable-cpus", nil, opts.timeout), c.id) do
    if core.now() >= deadline then
      fail("timeout", ("vm:resize_vcpus: %s still holds its slot %gs after device_del " ..
                       "(does the guest handle the ACPI eject request?)"):format(
           c.id, opts.timeout))
    end
    core.sleep(pause)
    pause = math.min(pause * 2, 0.25)
  end
  st.cpus[#st.cpus] = nil
  st.cpu_ids[c.id] = nil
end

--- Hot-adds or removes vCPUs until n are present: from pod.vcpus (the boot
--- CPUs, never removed) up to pod.max_vcpus. Added CPUs go to the free slots
--- of query-hotpluggable-cpus with ids cpu-N; removal takes the ones added
--- last first. The guest onlines a hot-added CPU itself (a udev rule, or 1
--- written to /sys/devices/system/cpu/cpuN/online). Under TCG, adding a
--- vCPU after one was removed is refused: QEMU 7.2 aborts there.
---@param vm table the VM
---@param n integer how many vCPUs
---@param opts? {timeout?: number} seconds per QMP command and for a removal (default 30)
---@return integer present the vCPUs present (query-cpus-fast)
function M.resize_vcpus(vm, n, opts)
  core.check_task("vm:resize_vcpus")
  vm:_check()
  opts = {timeout = opts and opts.timeout or 30}
  check_count("vm:resize_vcpus", n, 1)
  local spec = vm.pod.spec
  local boot, max = spec.vcpus or 1, spec.max_vcpus or spec.vcpus or 1
  if n > max then
    fail("usage", ("vm:resize_vcpus: %d vCPUs is above pod.max_vcpus (%d)"):format(n, max))
  end
  if n < boot then
    fail("usage", ("vm:resize_vcpus: %d vCPUs is below pod.vcpus (%d): the boot vCPUs are " ..
                   "not removed"):format(n, boot))
  end
  local st = state(vm)
  local present = present_cpus(vm, opts.timeout)
  if n > present and M.tcg_cpu_removed(vm) then
    fail("usage", ("vm:resize_vcpus: %s: adding a vCPU after one was removed aborts QEMU 7.2 " ..
                   "under TCG (\"corrupted double-linked list\"); refused"):format(vm.name))
  end
  while present < n do
    add_cpu(vm, st, present, n, opts)
    present = present_cpus(vm, opts.timeout)
  end
  local removed = false
  while present > n and #st.cpus > 0 and present - st.cpus[#st.cpus].count >= n do
    tcg(vm, st, opts.timeout)
    local count = st.cpus[#st.cpus].count
    remove_cpu(vm, st, opts)
    -- the slot frees before query-cpus-fast drops the vCPU: count by hand
    present, removed = present - count, true
  end
  if removed then
    -- and return what QEMU reports once it agrees (bounded)
    local want, deadline, pause = present, core.now() + opts.timeout, 0.02
    present = present_cpus(vm, opts.timeout)
    while present ~= want and core.now() < deadline do
      core.sleep(pause)
      pause = math.min(pause * 2, 0.25)
      present = present_cpus(vm, opts.timeout)
    end
  end
  return present
end

-- ---- memory -----------------------------------------------------------------

-- The memory size QEMU reports: base-memory + plugged-memory, in MiB.
local function memory_mib(vm, timeout)
  local s = vm:execute("query-memory-size-summary", nil, timeout)
  return ((s["base-memory"] or 0) + (s["plugged-memory"] or 0)) // MiB
end

-- The id of the pod's virtio-mem device (pod.memory_hotplug), or nil.
local function virtio_mem_id(vm)
  for _, dev in ipairs((vm.pod:_build())) do
    if dev[1] == "virtio-mem" then return dev[2].id end
  end
end

-- pod.memory_hotplug = "virtio-mem": the device's requested-size is set
-- (qom-set), and the guest plugs or unplugs memory blocks until its size
-- is that. MEMORY_DEVICE_SIZE_CHANGE (armed before each command it
-- follows) says it moved; the wait ends when the size is the request, or
-- no event came for opts.settle seconds (a guest that cannot unplug more,
-- or has no virtio_mem driver), or the timeout passed.
local function resize_virtio_mem(vm, id, mib, timeout, settle)
  local spec = vm.pod.spec
  local base = vm.pod.arch:memory_size(spec)
  if mib < base then
    fail("usage", ("vm:resize_memory: %d MiB is below pod.memory (%d MiB): virtio-mem gives " ..
                   "back only what it plugged"):format(mib, base))
  end
  local path = "/machine/peripheral/" .. id
  local want = (mib - base) * MiB
  local deadline = core.now() + timeout
  local changed = vm:arm_event("MEMORY_DEVICE_SIZE_CHANGE", {match = {id = id}})
  vm:execute("qom-set", {path = path, property = "requested-size", value = want}, timeout)
  while true do
    local size = vm:execute("qom-get", {path = path, property = "size"}, timeout)
    local left = deadline - core.now()
    if size == want or left <= 0 then break end
    local ok, e = pcall(changed.wait, changed, math.min(settle, left))
    if not ok then
      if type(e) == "table" and e.kind == "timeout" then break end -- the guest stopped
      errors.rethrow(e, "process")
    end
    changed = vm:arm_event("MEMORY_DEVICE_SIZE_CHANGE", {match = {id = id}})
  end
  return memory_mib(vm, timeout)
end

--- Grows the guest memory to mib MiB with one pc-dimm (a memory backend of
--- the kind the pod's knobs select, ids dimmN-mem and dimmN). Needs
--- pod.max_memory and a free slot of pod.memory_slots (default 1); does
--- not shrink (vm:balloon gives memory back). The guest onlines the new
--- memory itself (memhp_default_state=online on its kernel command line,
--- or a udev rule); Linux on amd64 adds memory in 128 MiB blocks.
---@param vm table the VM
---@param mib integer|string the new size in MiB, or a size string ("1G")
---@param opts? {timeout?: number} seconds per QMP command (default 30)
---@return integer mib the size QEMU reports (base + plugged memory)
function M.resize_memory(vm, mib, opts)
  core.check_task("vm:resize_memory")
  vm:_check()
  local timeout = opts and opts.timeout or 30
  if type(mib) == "string" then -- "2G" as pod.memory takes it
    local why
    mib, why = require("vclaunch.schema").size_mib(mib)
    if not mib then fail("usage", "vm:resize_memory: " .. why) end
  end
  check_count("vm:resize_memory", mib, 1)
  local pod, spec = vm.pod, vm.pod.spec
  local st = state(vm)
  -- Refusals that need no QMP.
  if not spec.max_memory then
    fail("usage", ("vm:resize_memory: pod '%s' has no pod.max_memory: memory hot-plug needs " ..
                   "max_memory (and memory_slots)"):format(vm.name))
  end
  if mib > spec.max_memory then
    fail("usage", ("vm:resize_memory: %d MiB is above pod.max_memory (%d MiB)"):format(
         mib, spec.max_memory))
  end
  local slots = spec.memory_slots or 1
  if #st.dimms >= slots then
    fail("usage", ("vm:resize_memory: no free memory slot: the %d of pod.memory_slots are " ..
                   "used"):format(slots))
  end
  if M.tcg_cpu_removed(vm) then
    fail("usage", ("vm:resize_memory: %s: adding memory after a vCPU was removed aborts QEMU " ..
                   "7.2 under TCG (\"double free or corruption\"); refused"):format(vm.name))
  end
  local vmem = spec.memory_hotplug == "virtio-mem" and virtio_mem_id(vm)
  if vmem then return resize_virtio_mem(vm, vmem, mib, timeout, opts and opts.settle or 3) end
  local current = memory_mib(vm, timeout)
  if mib == current then return current end
  if mib < current then
    fail("usage", ("vm:resize_memory: %d MiB is below the current %d MiB: pc-dimm memory is " ..
                   "not removed (vm:balloon lends memory back)"):format(mib, current))
  end
  local grow = mib - current
  local align = pod.arch.memory_align or 1
  if grow % align ~= 0 then
    fail("usage", ("vm:resize_memory: growing by %d MiB: %s adds memory in multiples of " ..
                   "%d MiB"):format(grow, pod.arch.name, align))
  end

  local k = #st.dimms + 1
  local id, mem
  repeat
    id, mem = "dimm" .. k, "dimm" .. k .. "-mem"
    k = k + 1
  until not id_taken(vm, id) and not id_taken(vm, mem) and not st.dimm_ids[id]
  -- The same backend kind as the boot memory (hugepages, shared memory).
  local backend = archs.call(pod.arch, "memory_backend", pod:placement(), spec)
  local kind, fields = "memory-backend-ram", {}
  if backend then
    kind = backend[1]
    for key, v in pairs(backend[2]) do fields[key] = v end
  end
  fields.id, fields.size = mem, grow .. "M"
  local okb, plug, unplug = pcall(core.hotplug, kind, fields)
  if not okb then errors.rethrow(plug, "recipe") end
  for _, c in ipairs(plug) do vm:execute(c.command, c.arguments, timeout) end
  local ok, e = pcall(vm.execute, vm, "device_add", {driver = "pc-dimm", id = id, memdev = mem},
                      timeout)
  if not ok then
    for _, c in ipairs(unplug) do pcall(vm.execute, vm, c.command, c.arguments, timeout) end
    fail(type(e) == "table" and e.kind or "qmp",
         ("vm:resize_memory: device_add pc-dimm %s (%d MiB) failed: %s"):format(id, grow,
         type(e) == "table" and e.message or tostring(e)), e)
  end
  st.dimms[#st.dimms + 1] = {id = id, memdev = mem, mib = grow}
  st.dimm_ids[id] = true
  return memory_mib(vm, timeout)
end

-- ---- balloon ----------------------------------------------------------------

local function has_balloon(vm)
  if vm.pod.spec.balloon then return true end
  for _, d in ipairs(vm:devices()) do
    if d.kind == "virtio-balloon" then return true end
  end
  return false
end

--- Sets the balloon's target to mib MiB (the guest's memory as QEMU lends
--- it) and waits for the guest to move: until query-balloon's actual is
--- the target, or no BALLOON_CHANGE came for opts.settle seconds (a guest
--- that cannot give more, or has no balloon driver), or opts.timeout
--- passed. Needs pod.balloon.
---@param vm table the VM
---@param mib integer the target in MiB
---@param opts? {timeout?: number, settle?: number} seconds (defaults 30 and 3)
---@return integer mib the actual size (query-balloon), rounded down to MiB
---@return integer bytes the actual size in bytes
function M.balloon(vm, mib, opts)
  core.check_task("vm:balloon")
  vm:_check()
  opts = opts or {}
  local timeout, settle = opts.timeout or 30, opts.settle or 3
  check_count("vm:balloon", mib, 1)
  if not has_balloon(vm) then
    fail("usage", ("vm:balloon: pod '%s' has no balloon (pod.balloon = true)"):format(vm.name))
  end
  local target = mib * MiB
  local deadline = core.now() + timeout
  -- Armed before each command whose answer it follows: a change that came
  -- while query-balloon was on its way is not missed.
  local changed = vm:arm_event("BALLOON_CHANGE")
  vm:execute("balloon", {value = target}, timeout)
  while true do
    local actual = vm:execute("query-balloon", nil, timeout).actual
    local left = deadline - core.now()
    if actual == target or left <= 0 then return actual // MiB, actual end
    local ok, e = pcall(changed.wait, changed, math.min(settle, left))
    if not ok then
      if type(e) == "table" and e.kind == "timeout" then
        return actual // MiB, actual -- the guest stopped moving
      end
      errors.rethrow(e, "process")
    end
    changed = vm:arm_event("BALLOON_CHANGE")
  end
end

return M
