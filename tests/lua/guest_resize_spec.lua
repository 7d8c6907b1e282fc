-- Resizing a running VM, seen from inside the test guest (its shell on the
-- console, vc.cmd=shell) on q35 under TCG: memory up by 256 MiB in
-- /proc/meminfo, the balloon's target in query-balloon, vCPUs 1 -> 3 -> 2
-- in /sys/devices/system/cpu/online, then the vCPU and memory re-adds QEMU
-- 7.2 cannot survive under TCG refused with the VM still running, and what
-- the pod does not allow refused before any QMP command; a vCPU and memory
-- added to a pc guest; virtio-mem grown and shrunk in a third guest. Three
-- guest boots, three frozen VMs.
local vc = require "vclaunch"

vc.options.accel = "tcg"

local shell = dofile(assert(os.getenv("VC_SOURCE_DIR"), "VC_SOURCE_DIR is not set") ..
                    "/tests/lua/guest_shell.lua")
local sh, until_ = shell.sh, shell.until_
-- no udev in the test guest: hot-added memory is onlined by the kernel
local function boot(name, fields)
  return shell.boot(name, fields, "memhp_default_state=online")
end

local function cpus_online(vm) return sh(vm, "cat /sys/devices/system/cpu/online")[1] end

local function memtotal_kb(vm)
  return tonumber(sh(vm, "grep MemTotal /proc/meminfo")[1]:match("(%d+) kB"))
end

-- Counts the QMP commands the VM sends from now on: a refusal must send none.
local function count_qmp(vm)
  local calls = {}
  vm.execute = function(self, command, ...)
    calls[#calls + 1] = command
    return getmetatable(self).execute(self, command, ...)
  end
  return calls, function() vm.execute = nil end
end

local function match(msg, pattern)
  eq(tostring(msg):match(pattern) ~= nil, true, msg)
end

-- The slot of the hot-added CPU id in query-hotpluggable-cpus, or nil.
local function cpu_slot(vm, id)
  for _, s in ipairs(vm:execute("query-hotpluggable-cpus")) do
    if s["qom-path"] == "/machine/peripheral/" .. id then return s end
  end
end

describe("resizing a q35 guest under TCG", function()
  local vm
  it("boots with 1 of 3 vCPUs, 256 of 1024 MiB with two slots, and a balloon", function()
    vm = boot("resize-q35", {vcpus = 1, max_vcpus = 3, max_memory = 1024, memory_slots = 2,
                             balloon = true})
    eq(cpus_online(vm), "0", "vCPUs online at boot")
  end)

  -- Memory first: after a vCPU removal under TCG, QEMU 7.2 cannot add any.
  it("grows the memory by 256 MiB the guest sees", function()
    local before = memtotal_kb(vm)
    eq(vm:resize_memory(512), 512, "size QEMU reports")
    local s = vm:execute("query-memory-size-summary")
    eq(s["plugged-memory"], 256 * 1024 * 1024, "plugged-memory")
    eq(vm:execute("query-memory-devices")[1].data.id, "dimm1", "the pc-dimm")
    eq(until_(vm, ("[ $(sed -n 's/^MemTotal: *\\([0-9]*\\) kB/\\1/p' /proc/meminfo) -gt %d ]")
                  :format(before)), true, "MemTotal grew")
    eq(memtotal_kb(vm) - before, 256 * 1024, "MemTotal growth in kB")
  end)

  it("refuses memory beyond max_memory, or smaller, before any QMP command", function()
    local calls, restore = count_qmp(vm)
    local e = expect_error(vm.resize_memory, vm, 2048)
    eq(e.kind, "usage")
    eq(e.message, "vm:resize_memory: 2048 MiB is above pod.max_memory (1024 MiB)")
    restore()
    eq(#calls, 0, "QMP commands sent: " .. table.concat(calls, ", "))
    e = expect_error(vm.resize_memory, vm, 384)
    eq(e.message, "vm:resize_memory: 384 MiB is below the current 512 MiB: pc-dimm memory is " ..
       "not removed (vm:balloon lends memory back)")
  end)

  it("sets the balloon's target and returns where the guest moved", function()
    local mib, bytes = vm:balloon(384)
    eq(mib, 384, "actual (MiB)")
    eq(bytes, 384 * 1024 * 1024, "actual (bytes)")
    eq(vm:execute("query-balloon").actual, 384 * 1024 * 1024, "query-balloon")
    eq(vm:balloon(512), 512, "deflated again")
  end)

  it("adds two vCPUs the guest brings online: 1 -> 3", function()
    eq(vm:resize_vcpus(3), 3, "vCPUs present")
    eq(cpu_slot(vm, "cpu-1") ~= nil, true, "cpu-1 in a slot")
    eq(cpu_slot(vm, "cpu-2") ~= nil, true, "cpu-2 in a slot")
    -- The test guest has no udev rule: the kernel registers the CPUs
    -- offline, and the test onlines them.
    eq(until_(vm, "[ -e /sys/devices/system/cpu/cpu2/online ]"), true, "guest sees cpu2")
    sh(vm, "for c in 1 2; do f=/sys/devices/system/cpu/cpu$c/online; " ..
           "[ $(cat $f) = 1 ] || echo 1 > $f; done")
    eq(until_(vm, "[ $(cat /sys/devices/system/cpu/online) = 0-2 ]"), true, "0-2 online")
    eq(cpus_online(vm), "0-2")
  end)

  it("refuses vCPU counts outside the pod's before any QMP command", function()
    local calls, restore = count_qmp(vm)
    local e = expect_error(vm.resize_vcpus, vm, 4)
    eq(e.message, "vm:resize_vcpus: 4 vCPUs is above pod.max_vcpus (3)")
    e = expect_error(vm.resize_vcpus, vm, 0)
    eq(e.kind, "usage")
    restore()
    eq(#calls, 0, "QMP commands sent: " .. table.concat(calls, ", "))
  end)

  it("removes the vCPU added last: 3 -> 2", function()
    eq(vm:resize_vcpus(2), 2, "vCPUs present")
    eq(cpu_slot(vm, "cpu-2"), nil, "cpu-2's slot is free")
    eq(cpu_slot(vm, "cpu-1") ~= nil, true, "cpu-1 stays")
    eq(#vm:execute("query-cpus-fast"), 2, "query-cpus-fast")
    eq(until_(vm, "[ $(cat /sys/devices/system/cpu/online) = 0-1 ]"), true, "0-1 online")
    eq(cpus_online(vm), "0-1")
  end)

  it("then refuses a vCPU or memory re-add under TCG, and the VM runs on", function()
    local calls, restore = count_qmp(vm)
    local e = expect_error(vm.resize_memory, vm, 640)
    restore()
    eq(e.kind, "usage")
    eq(e.message, "vm:resize_memory: resize-q35: adding memory after a vCPU was removed aborts " ..
       "QEMU 7.2 under TCG (\"double free or corruption\"); refused")
    eq(#calls, 0, "QMP commands sent: " .. table.concat(calls, ", "))
    e = expect_error(vm.resize_vcpus, vm, 3)
    eq(e.kind, "usage")
    match(e.message, "^vm:resize_vcpus: resize%-q35: adding a vCPU after one was removed " ..
                     "aborts QEMU 7%.2 under TCG")
    eq(vm:status(), "running")
    eq(#vm:execute("query-cpus-fast"), 2, "vCPUs present")
    eq(cpus_online(vm), "0-1")
    -- The VM is killed, not powered off: after a vCPU removal under TCG,
    -- QEMU 7.2 may abort in its own teardown ("double free or corruption"),
    -- whichever way it is asked to end (docs/live.md).
    vm.proc:kill(9)
    eq(vm:wait(60).signal, 9, "QEMU killed")
  end)
end)

describe("resizing a pc guest under TCG", function()
  it("adds a vCPU and 256 MiB the guest sees", function()
    local vm = boot("resize-pc", {machine = "pc", vcpus = 1, max_vcpus = 2, max_memory = 512,
                                  memory_slots = 1})
    local before = memtotal_kb(vm)
    eq(vm:resize_vcpus(2), 2, "vCPUs present")
    eq(vm:resize_memory(512), 512, "size QEMU reports")
    eq(until_(vm, "[ -e /sys/devices/system/cpu/cpu1/online ]"), true, "guest sees cpu1")
    sh(vm, "f=/sys/devices/system/cpu/cpu1/online; [ $(cat $f) = 1 ] || echo 1 > $f")
    eq(until_(vm, "[ $(cat /sys/devices/system/cpu/online) = 0-1 ]"), true, "0-1 online")
    eq(until_(vm, ("[ $(sed -n 's/^MemTotal: *\\([0-9]*\\) kB/\\1/p' /proc/meminfo) -gt %d ]")
                  :format(before)), true, "MemTotal grew")
    eq(memtotal_kb(vm) - before, 256 * 1024, "MemTotal growth in kB")
    vm.console:send("poweroff -f\n")
    eq(vm:wait(60).code, 0, "QEMU's exit status")
  end)
end)

describe("virtio-mem on q35 under TCG", function()
  -- Memory the guest plugs into ZONE_MOVABLE can be unplugged again.
  local vm
  it("boots with a virtio-mem device asking for nothing", function()
    vm = shell.boot("vmem-q35", {memory = 256, max_memory = 768, memory_hotplug = "virtio-mem"},
                    "memhp_default_state=online_movable")
    eq(vm:execute("qom-get", {path = "/machine/peripheral/vmem0", property = "size"}), 0, "size")
    eq(until_(vm, "[ -e /sys/bus/virtio/drivers/virtio_mem ]"), true, "the guest's driver")
  end)

  local grown
  it("grows by 256 MiB, seen in the guest's MemTotal", function()
    local before = memtotal_kb(vm)
    eq(vm:resize_memory(512), 512, "size QEMU reports")
    eq(vm:execute("qom-get", {path = "/machine/peripheral/vmem0", property = "size"}),
       256 * 1024 * 1024, "the device's plugged size")
    eq(until_(vm, ("[ $(sed -n 's/^MemTotal: *\\([0-9]*\\) kB/\\1/p' /proc/meminfo) -gt %d ]")
                  :format(before)), true, "MemTotal grew")
    grown = memtotal_kb(vm)
    eq(grown - before, 256 * 1024, "MemTotal growth in kB")
  end)

  it("shrinks by 128 MiB, seen in the guest's MemTotal", function()
    -- Linux retries an unplug that found the memory busy after 50 s
    eq(vm:resize_memory(384, {settle = 70, timeout = 150}), 384, "size QEMU reports")
    eq(until_(vm, ("[ $(sed -n 's/^MemTotal: *\\([0-9]*\\) kB/\\1/p' /proc/meminfo) -lt %d ]")
                  :format(grown)), true, "MemTotal shrank")
    eq(grown - memtotal_kb(vm), 128 * 1024, "MemTotal shrink in kB")
  end)

  it("refuses below pod.memory and above max_memory before any QMP command", function()
    local calls, restore = count_qmp(vm)
    local e = expect_error(vm.resize_memory, vm, 128)
    eq(e.message, "vm:resize_memory: 128 MiB is below pod.memory (256 MiB): virtio-mem gives " ..
       "back only what it plugged")
    e = expect_error(vm.resize_memory, vm, 1024)
    eq(e.message, "vm:resize_memory: 1024 MiB is above pod.max_memory (768 MiB)")
    restore()
    eq(#calls, 0, "QMP commands sent: " .. table.concat(calls, ", "))
    vm.console:send("poweroff -f\n")
    eq(vm:wait(60).code, 0, "QEMU's exit status")
  end)

  it("is refused where there is no PCI, and without max_memory", function()
    local e = expect_error(vc.pod, {name = "vmem-micro", machine = "microvm", memory = 128,
                                    max_memory = 256, memory_hotplug = "virtio-mem"})
    match(e.message, "virtio%-mem is a PCI device, and machine microvm has no PCI")
    e = expect_error(vc.pod, {name = "vmem-nomax", memory = 128, memory_hotplug = "virtio-mem"})
    match(e.message, "virtio%-mem needs max_memory")
  end)
end)

describe("resize refusals that need no guest", function()
  it("names the pod field, before any QMP command", function()
    local vm = vc.pod{name = "resize-none", memory = 128, freeze = true}:start()
    local calls, restore = count_qmp(vm)
    local e = expect_error(vm.resize_memory, vm, 256)
    eq(e.kind, "usage")
    eq(e.message, "vm:resize_memory: pod 'resize-none' has no pod.max_memory: memory hot-plug " ..
       "needs max_memory (and memory_slots)")
    e = expect_error(vm.balloon, vm, 64)
    eq(e.message, "vm:balloon: pod 'resize-none' has no balloon (pod.balloon = true)")
    e = expect_error(vm.resize_vcpus, vm, 2)
    eq(e.message, "vm:resize_vcpus: 2 vCPUs is above pod.max_vcpus (1)")
    restore()
    eq(#calls, 0, "QMP commands sent: " .. table.concat(calls, ", "))
    vm:execute("quit")
    vm:wait(30)
  end)

  it("says which machine has no vCPU hot-plug", function()
    local vm = vc.pod{name = "resize-micro", machine = "microvm", memory = 128, vcpus = 1,
                      max_vcpus = 2, freeze = true}:start()
    local e = expect_error(vm.resize_vcpus, vm, 2)
    eq(e.kind, "qmp")
    match(e.message, "^vm:resize_vcpus: machine microvm has no vCPU hot%-plug here: " ..
                     "query%-hotpluggable%-cpus: ")
    eq(#vm:execute("query-cpus-fast"), 1, "vCPUs present")
    vm:execute("quit")
    vm:wait(30)
  end)

  it("refuses memory once pod.memory_slots are used", function()
    local vm = vc.pod{name = "resize-slots", memory = 128, max_memory = 512, memory_slots = 1,
                      freeze = true}:start()
    eq(vm:resize_memory(256), 256, "size QEMU reports")
    local calls, restore = count_qmp(vm)
    local e = expect_error(vm.resize_memory, vm, 384)
    restore()
    eq(e.message, "vm:resize_memory: no free memory slot: the 1 of pod.memory_slots are used")
    eq(#calls, 0, "QMP commands sent: " .. table.concat(calls, ", "))
    eq(#vm:execute("query-memory-devices"), 1, "one pc-dimm")
    vm:execute("quit")
    vm:wait(30)
  end)
end)
