-- The guest sees what the pod gave it: the fixture guest boots with
-- vc.cmd=info, a virtio-blk drive, a 9p share, a virtio-serial port, a
-- virtio-rng and a virtio-balloon, and its init reports each from inside.
-- Every check is also run against a guest booted without those devices, so
-- each assertion is shown to be able to fail.
local vc = require "vclaunch"
local core = require "vclaunch.core"

local guest = os.getenv("VC_GUEST_DIR") or "build/guest"
vc.options.accel = "tcg" -- KVM hangs on the CI machines; the default stays kvm
local base = os.tmpname()
os.remove(base)
vc.options.runtime_dir = base .. ".d"

local function exists(path)
  local f = io.open(path)
  if f then f:close() end
  return f ~= nil
end

-- Scratch files for the devices, in a private directory of their own.
local work = core.rundir("devices", base .. ".w")
local disk = work .. "/disk.raw"
local share = core.rundir("share", work) -- the 9p share: its own private directory
local line = ("vclaunch-share-%08x%08x"):format(math.random(0, 0x7fffffff),
                                                math.random(0, 0x7fffffff))

do
  local f = assert(io.open(disk, "wb"))
  assert(f:seek("set", 8 * 1024 * 1024 - 1)) -- 8 MiB, sparse
  assert(f:write("\0"))
  f:close()
  f = assert(io.open(share .. "/hello.txt", "w"))
  assert(f:write(line, "\n"))
  f:close()
end

local DEVICES = {
  {"virtio-blk", {id = "disk0", file = disk, format = "raw", serial = "vcdisk0"}},
  {"virtio-9p", {id = "fs0", path = share, mount_tag = "share0", security_model = "none",
                 readonly = true}},
  {"virtio-serial", {id = "vser0"}},
  {"chardev", {backend = "null", id = "port0"}},
  {"virtserialport", {chardev = "port0", name = "org.vclaunch.port0"}},
  {"virtio-rng", {id = "rng0", filename = "/dev/urandom"}},
  {"virtio-balloon", {id = "balloon0"}},
}

local function pod(devices)
  return vc.pod{name = "guestdev", memory = 256, devices = devices,
                kernel = {path = guest .. "/vmlinuz", initrd = guest .. "/initrd.img",
                          params = "vc.cmd=info"}}
end

-- Boots once per variant ("devices" or "plain") and keeps what was seen:
-- the info sections (name -> list of lines), query-balloon's answer (or the
-- error), the exit status and whether the runtime dir outlived the VM.
local runs = {}
local function boot(vm)
  local r = {dir = vm.dir, dir_while_running = exists(vm.dir)}
  r.balloon_ok, r.balloon = pcall(vm.execute, vm, "query-balloon")
  vm.console:expect("^VC%-INFO%-END", 120)
  vm.console:expect("VCLAUNCH%-GUEST%-POWEROFF", 30)
  r.exit = vm:wait()
  r.dir_after = exists(r.dir)
  r.sections = {}
  local cur
  for _, l in ipairs(vm.console:history()) do
    l = l:gsub("\r", "")
    local name = l:match("^VC%-INFO (%w+):")
    if name then
      cur = {}
      r.sections[name] = cur
    elseif l:match("^VC%-INFO%-END") then
      cur = nil
    elseif cur then
      cur[#cur + 1] = l
    end
  end
  return r
end

-- A failed boot is reported by every case that needs it, without booting
-- again.
local function run(variant)
  if not runs[variant] then
    local vm
    local ok, r = pcall(function()
      vm = pod(variant == "devices" and DEVICES or nil):start()
      return boot(vm)
    end)
    if not ok then
      if vm then vm:kill() end
      r = {err = variant .. " guest: " .. tostring(r)}
    end
    runs[variant] = r
  end
  if runs[variant].err then error(runs[variant].err, 2) end
  return runs[variant]
end

-- The lines of a section; fails if the guest never printed it.
local function section(r, name)
  local s = r.sections[name]
  if not s then error("the guest printed no 'VC-INFO " .. name .. ":' section", 2) end
  return s
end

-- Whether a section holds a line equal to want.
local function has(lines, want)
  for _, l in ipairs(lines) do
    if l == want then return true end
  end
  return false
end

local function has_match(lines, pattern)
  for _, l in ipairs(lines) do
    if l:match(pattern) then return l end
  end
  return nil
end

describe("a guest with devices", function()
  it("boots with vc.cmd=info and powers itself off with status 0", function()
    for _, variant in ipairs{"devices", "plain"} do
      local r = run(variant)
      eq(r.dir_while_running, true, variant .. ": runtime dir exists while the VM runs")
      eq(r.exit.code, 0, variant .. ": exit code")
      eq(r.dir_after, false, variant .. ": runtime dir removed")
    end
  end)

  it("sees the virtio-blk drive as vda with its size and serial", function()
    local blocks = section(run("devices"), "blocks")
    eq(has(blocks, "vda"), true, "vda in /sys/block: " .. table.concat(blocks, " | "))
    -- 8 MiB in 512-byte sectors
    eq(has(blocks, "block vda: size=16384 serial=vcdisk0"), true,
       "vda size and serial: " .. table.concat(blocks, " | "))
    local plain = section(run("plain"), "blocks")
    eq(has(plain, "vda"), false, "plain guest has no vda: " .. table.concat(plain, " | "))
  end)

  it("reads the file from the 9p share", function()
    local s = section(run("devices"), "share0")
    eq(has(s, line), true, "hello.txt line: " .. table.concat(s, " | "))
    local plain = section(run("plain"), "share0")
    eq(has(plain, line), false, "plain guest cannot read the share")
    eq(has(plain, "no 9p share0"), true, "plain guest: " .. table.concat(plain, " | "))
  end)

  it("lists the virtio-serial port under its name", function()
    local s = section(run("devices"), "ports")
    eq(has_match(s, "^/dev/vport%d+p%d+$") ~= nil, true,
       "a /dev/vport*: " .. table.concat(s, " | "))
    eq(has_match(s, "^port vport%d+p%d+: org%.vclaunch%.port0$") ~= nil, true,
       "port name: " .. table.concat(s, " | "))
    local plain = section(run("plain"), "ports")
    eq(has_match(plain, "^/dev/vport") ~= nil, false, "plain guest: " .. table.concat(plain, " | "))
    eq(has_match(plain, "org%.vclaunch%.port0") ~= nil, false, "plain guest: no port name")
  end)

  it("reads 64 bytes from the virtio-rng through /dev/hwrng", function()
    local function hwrng(variant)
      local s = section(run(variant), "hwrng")
      local bytes = 0
      local current = has_match(s, "^rng_current: ") or ""
      for _, l in ipairs(s) do
        if l:match("^[%s%x]+$") then
          for _ in l:gmatch("%x%x") do bytes = bytes + 1 end
        end
      end
      return current, bytes, table.concat(s, " | ")
    end
    local current, bytes, all = hwrng("devices")
    eq(current:match("^rng_current: virtio_rng%.%d+$") ~= nil, true, "rng_current: " .. all)
    eq(bytes, 64, "hex bytes read: " .. all)
    current, bytes, all = hwrng("plain")
    eq(current:match("virtio_rng") ~= nil, false, "plain guest rng_current: " .. all)
    eq(bytes, 0, "plain guest hex bytes: " .. all)
  end)

  it("binds virtio_balloon to the balloon device (id 0x0005)", function()
    local s = section(run("devices"), "virtio")
    eq(has_match(s, "^virtio%d+ device=0x0005 driver=virtio_balloon$") ~= nil, true,
       "balloon device: " .. table.concat(s, " | "))
    local plain = section(run("plain"), "virtio")
    eq(has_match(plain, "device=0x0005") ~= nil, false,
       "plain guest: " .. table.concat(plain, " | "))
  end)

  it("answers query-balloon with the pod's memory", function()
    local r = run("devices")
    eq(r.balloon_ok, true, "query-balloon: " .. tostring(r.balloon))
    eq(r.balloon.actual, 256 * 1024 * 1024, "actual")
    local plain = run("plain")
    eq(plain.balloon_ok, false, "plain guest has no balloon")
    eq(tostring(plain.balloon):match("[Bb]alloon") ~= nil, true, tostring(plain.balloon))
  end)
end)

os.remove(share .. "/hello.txt")
core.rundir_remove(share) -- a runtime dir holds its locked owner record
os.remove(disk)
core.rundir_remove(work)
os.remove(base .. ".w")
os.remove(base .. ".d")
