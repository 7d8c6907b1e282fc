-- Port forwards of user (slirp) endpoints: pod.endpoints[i].forward, a
-- list of {host, guest, proto, host_addr, guest_addr} rules, checked here
-- and written as QEMU's hostfwd rules on the endpoint's -netdev user
-- (one hostfwd= per rule; QEMU collects them into a list); and the ports
-- QEMU bound, read back from the running VM (`info usernet`).
local schema = require "vclaunch.schema"

local M = {}

local PORT = {type = "integer", min = 1, max = 65535}

-- host = 0: a free port the host's kernel picks (vm:forwards() tells it).
M.RULE = schema.record{host = {type = "integer", required = true, min = 0, max = 65535},
                       guest = {type = "integer", required = true, min = PORT.min,
                                max = PORT.max},
                       proto = {type = "string", values = {"tcp", "udp"}},
                       host_addr = schema.STR, guest_addr = schema.STR}

-- The host address a rule binds when it names none: the loopback only, so
-- that a forward never opens a guest port to the network unasked
-- ("0.0.0.0" does that).
M.DEFAULT_HOST_ADDR = "127.0.0.1"

-- "a.b.c.d", four decimal octets 0..255 without leading zeros: what
-- inet_aton reads the same way QEMU's slirp does (no "1.2.3", no octal).
local function ipv4(s)
  local a, b, c, d = s:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  if not a then return false end
  for _, o in ipairs{a, b, c, d} do
    if #o > 3 or tonumber(o) > 255 or (#o > 1 and o:sub(1, 1) == "0") then return false end
  end
  return true
end

-- The rule's key for duplicates: QEMU binds proto host_addr:host once.
local function bind_key(r)
  return ("%s %s:%d"):format(r.proto or "tcp", r.host_addr or M.DEFAULT_HOST_ADDR, r.host)
end

--- The endpoints row's check: forward is for user endpoints, its
--- addresses are IPv4 dotted quads (nothing that could end QEMU's option
--- or its rule), and no two rules of the pod bind the same host port.
--- Returns a message and the item field, or nil.
function M.check(e, pod)
  if not e.forward then return nil end
  if e.type ~= "user" then
    return ("goes with type = \"user\" (QEMU's hostfwd), not %q"):format(e.type), "forward"
  end
  local seen = {}
  -- the pod's other endpoints first: a rule that binds what one of theirs does
  for i, other in ipairs(pod.endpoints or {}) do
    if other ~= e and other.type == "user" then
      for _, r in ipairs(other.forward or {}) do
        if r.host ~= 0 then seen[bind_key(r)] = ("pod.endpoints[%d]"):format(i) end
      end
    end
  end
  for i, r in ipairs(e.forward) do
    for _, f in ipairs{"host_addr", "guest_addr"} do
      if r[f] ~= nil and not ipv4(r[f]) then
        return ("field '%s': %q is not an IPv4 address (a.b.c.d)"):format(f, r[f]),
               ("forward[%d]"):format(i)
      end
    end
    local key = bind_key(r)
    if r.host ~= 0 and seen[key] then
      return ("%s is bound by %s already"):format(key, seen[key]), ("forward[%d]"):format(i)
    end
    seen[key] = ("forward[%d]"):format(i)
  end
end

--- QEMU's hostfwd rules for a forward list:
--- "tcp:127.0.0.1:8080-:80" (proto:host_addr:host-guest_addr:guest).
function M.hostfwd(rules)
  if not rules or #rules == 0 then return nil end
  local out = {}
  for i, r in ipairs(rules) do
    out[i] = ("%s:%s:%d-%s:%d"):format(r.proto or "tcp", r.host_addr or M.DEFAULT_HOST_ADDR,
                                       r.host, r.guest_addr or "", r.guest)
  end
  return out
end

--- The forwards QEMU holds for a running VM, from `info usernet`:
--- {{proto, host_addr, host, guest_addr, guest, netdev}, ...}, in QEMU's
--- order; host is the port bound (the one the kernel picked for host = 0).
function M.list(vm, timeout)
  local text = vm:execute("human-monitor-command", {["command-line"] = "info usernet"}, timeout)
  local out, netdev = {}, nil
  for line in text:gmatch("[^\r\n]+") do
    netdev = line:match("^Hub %-?%d+ %(([^)]+)%)") or netdev
    local proto, haddr, hport, gaddr, gport =
      line:match("^%s*(%u+)%[HOST_FORWARD%]%s+%-?%d+%s+(%S+)%s+(%d+)%s+(%S+)%s+(%d+)")
    if proto then
      out[#out + 1] = {proto = proto:lower(), host_addr = haddr, host = tonumber(hport),
                       guest_addr = gaddr, guest = tonumber(gport), netdev = netdev}
    end
  end
  return out
end

return M
