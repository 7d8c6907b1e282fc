-- User endpoints' port forwards (pod.endpoints[i].forward): the rules
-- checked, the hostfwd options QEMU gets, and a booted test guest serving
-- HTTP on port 80 reached from the host through a forward.
local vc = require "vclaunch"
local core = require "vclaunch.core"
local shell = dofile((os.getenv("VC_SOURCE_DIR") or ".") .. "/tests/lua/guest_shell.lua")

vc.options.accel = "tcg"
vc.options.runtime_dir = os.tmpname() .. ".d"
os.remove(vc.options.runtime_dir:sub(1, -3))

local function netdev(endpoints)
  local argv = vc.pod{name = "fw", endpoints = endpoints}:argv()
  for i, a in ipairs(argv) do
    if a == "-netdev" then return argv[i + 1] end
  end
end

local function refused(e, ...)
  local ok, err = pcall(vc.pod, {name = "fw", endpoints = {e, ...}})
  if ok then error("expected an error, got a pod", 2) end
  eq(err.kind, "recipe", "error kind")
  return err.message
end

-- An HTTP GET of path from 127.0.0.1:port, by the host's busybox nc (its
-- wget is no use here: a static busybox's wget crashes in name lookup);
-- returns nc's exit code and the lines it read.
local function http_get(port, path)
  local out = {}
  local p = core.process{argv = {"busybox", "nc", "127.0.0.1", tostring(port)}, stdin = true,
                         on_line = function(stream, line)
                           if stream == "stdout" then out[#out + 1] = line end
                         end}
  -- httpd answers and closes; nc ends at that end of the connection
  p:write(("GET %s HTTP/1.0\r\n\r\n"):format(path))
  local st = p:wait(60)
  p:close()
  return st.code or ("signal " .. tostring(st.signal)), out
end

describe("user endpoint forwards", function()
  it("become one hostfwd per rule, on the loopback unless host_addr says", function()
    eq(netdev{{type = "user", id = "n0", forward = {
         {host = 8080, guest = 80},
         {host = 5353, guest = 53, proto = "udp", host_addr = "0.0.0.0", guest_addr = "10.0.2.15"},
         {host = 0, guest = 22, proto = "tcp"}}}},
       "user,id=n0,hostfwd=tcp:127.0.0.1:8080-:80,hostfwd=udp:0.0.0.0:5353-10.0.2.15:53," ..
       "hostfwd=tcp:127.0.0.1:0-:22")
    eq(netdev{{type = "user", id = "n0", forward = {}}}, "user,id=n0")
    -- the same rules as a raw device's hostfwd list, and one rule as a string
    local argv = vc.pod{name = "fw", devices = {{"virtio-net-user", {id = "n1",
                   hostfwd = {"tcp::1-:2", "udp::3-:4"}}}}}:argv()
    eq(table.concat(argv, " "):match("%-netdev (%S+)"), "user,id=n1,hostfwd=tcp::1-:2,hostfwd=udp::3-:4")
  end)

  it("refuses rules that are not ports, protocols and IPv4 addresses", function()
    local function user(rule) return {type = "user", forward = {rule}} end
    local cases = {
      {{type = "tap", ifname = "t0", forward = {{host = 1, guest = 2}}},
       "pod.endpoints[1].forward: goes with type = \"user\" (QEMU's hostfwd), not \"tap\""},
      {user{host = 1}, "pod.endpoints[1].forward[1]: missing required field 'guest'"},
      {user{guest = 1}, "pod.endpoints[1].forward[1]: missing required field 'host'"},
      {user{host = 65536, guest = 1},
       "pod.endpoints[1].forward[1]: field 'host': 65536 is out of range (0 to 65535)"},
      {user{host = -1, guest = 1},
       "pod.endpoints[1].forward[1]: field 'host': -1 is out of range (0 to 65535)"},
      {user{host = 1, guest = 0},
       "pod.endpoints[1].forward[1]: field 'guest': 0 is out of range (1 to 65535)"},
      {user{host = 1.5, guest = 1},
       "pod.endpoints[1].forward[1]: field 'host' must be an integer, got 1.5"},
      {user{host = "80", guest = 1},
       "pod.endpoints[1].forward[1]: field 'host' must be a number, got a string"},
      {user{host = 1, guest = 2, proto = "sctp"},
       "pod.endpoints[1].forward[1]: field 'proto': \"sctp\" is not one of: tcp, udp"},
      {user{host = 1, guest = 2, gust = 3},
       "pod.endpoints[1].forward[1]: unknown field 'gust' (did you mean 'guest'?)"},
      {user{host = 1, guest = 2, host_addr = "127.0.0.1,hostfwd=tcp::22-:22"},
       "pod.endpoints[1].forward[1]: field 'host_addr': \"127.0.0.1,hostfwd=tcp::22-:22\" " ..
       "is not an IPv4 address (a.b.c.d)"},
      {user{host = 1, guest = 2, guest_addr = "10.0.2.256"},
       "pod.endpoints[1].forward[1]: field 'guest_addr': \"10.0.2.256\" is not an IPv4 " ..
       "address (a.b.c.d)"},
      {user{host = 1, guest = 2, guest_addr = "010.0.2.1"},
       "pod.endpoints[1].forward[1]: field 'guest_addr': \"010.0.2.1\" is not an IPv4 " ..
       "address (a.b.c.d)"},
      {user{host = 1, guest = 2, host_addr = "::1"},
       "pod.endpoints[1].forward[1]: field 'host_addr': \"::1\" is not an IPv4 address (a.b.c.d)"},
      {user{host = 1, guest = 2, host_addr = "1.2.3.4\0"},
       "pod.endpoints[1].forward[1]: field 'host_addr': holds a NUL byte"},
      {{type = "user", forward = {{host = 1, guest = 2}, {host = 1, guest = 3}}},
       "pod.endpoints[1].forward[2]: tcp 127.0.0.1:1 is bound by forward[1] already"},
      {{type = "user", forward = {host = 1, guest = 2}},
       "pod.endpoints[1]: field 'forward' must be a list (keys 1..n), has key guest"},
    }
    for _, c in ipairs(cases) do eq(refused(c[1]), c[2], c[2]) end
    eq(refused({type = "user", forward = {{host = 5, guest = 2}}},
               {type = "user", forward = {{host = 5, guest = 3}}}),
       "pod.endpoints[1].forward[1]: tcp 127.0.0.1:5 is bound by pod.endpoints[2] already")
    -- the same port over another protocol, or two free ports, is no clash
    vc.pod{name = "fw", endpoints = {{type = "user", forward = {
      {host = 5, guest = 2}, {host = 5, guest = 2, proto = "udp"}, {host = 0, guest = 3},
      {host = 0, guest = 4}}}}}
    local e = expect_error(function()
      vc.pod{name = "fw", devices = {{"virtio-net-user", {id = "n1", hostfwd = {"a", 3}}}}}
    end)
    eq(e.message, "virtio-net-user 'n1': field 'hostfwd': item 2: expected a string, got a number")
  end)

  it("hot-plugs a user endpoint with its forwards (netdev_add hostfwd list)", function()
    local vm <close> = vc.pod{name = "fwhot", memory = 128, freeze = true, bridges = 1}:start()
    vm:hotplug("endpoints", {type = "user", id = "u1", forward = {
      {host = 0, guest = 8080}, {host = 0, guest = 53, proto = "udp"}}})
    local seen = {}
    for _, f in ipairs(vm:forwards()) do
      eq(f.host > 0, true, "bound port")
      seen[#seen + 1] = ("%s %s %s %d"):format(f.netdev, f.proto, f.host_addr, f.guest)
    end
    eq(table.concat(seen, ", "), "u1 tcp 127.0.0.1 8080, u1 udp 127.0.0.1 53")
    vm:execute("quit")
    vm:wait(30)
  end)

  it("reaches the guest's port 80 from the host through a forward", function()
    local vm <close> = shell.boot("fwd", {endpoints = {{type = "user", forward = {
      {host = 0, guest = 80}, {host = 0, guest = 53, proto = "udp"}}}}})
    -- the ports the kernel picked, as QEMU reports them
    local fw = vm:forwards()
    eq(#fw, 2, "forwards")
    eq(fw[1].proto .. " " .. fw[1].host_addr .. " -> " .. fw[1].guest, "tcp 127.0.0.1 -> 80")
    eq(fw[2].proto .. " " .. fw[2].host_addr .. " -> " .. fw[2].guest, "udp 127.0.0.1 -> 53")
    eq(fw[1].host > 0, true, "a port was bound")
    local up = shell.sh(vm, "ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0 && mkdir -p /tmp/www" ..
                 " && echo hello-from-the-guest >/tmp/www/index.html && httpd -p 80 -h /tmp/www" ..
                 " && echo HTTPD-UP")
    eq(up[#up], "HTTPD-UP", table.concat(up, "\n"))
    local code, lines = http_get(fw[1].host, "/index.html")
    eq(code, 0, "nc through the forward")
    eq(lines[1], "HTTP/1.1 200 OK", "status line")
    eq(lines[#lines], "hello-from-the-guest", table.concat(lines, "\n"))
    vm:execute("quit")
    vm:wait(30)
  end)
end)
