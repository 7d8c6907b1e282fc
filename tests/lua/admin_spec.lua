-- The pieces of `vclaunch ls/stop/qmp` that need no QEMU: core.json_encode
-- and json_decode (vm.json), the subcommand words and their usage errors,
-- the control socket's request and reply.
local core = require "vclaunch.core"
local bin = assert(os.getenv("VC_BIN"), "VC_BIN is not set")

local function tmpdir()
  local d = os.tmpname()
  os.remove(d)
  return d
end

local function run(argv, cwd)
  local out, err = {}, {}
  if cwd then argv = {"sh", "-c", 'cd "$0" && exec "$@"', cwd, table.unpack(argv)} end
  local p = core.process{argv = argv, on_line = function(stream, line)
    local t = stream == "stdout" and out or err
    t[#t + 1] = line
  end}
  local st = p:wait(60)
  p:close()
  return {code = st.code, out = table.concat(out, "\n"), err = table.concat(err, "\n")}
end

describe("JSON for vm.json", function()
  it("round-trips strings with NUL bytes, commas, quotes, backslashes and newlines", function()
    local s = "a\0b,c\"d\\e\nf\r\t\1\127\226\130\172"
    local t = {name = s, argv = {"x", s, "-chardev", "socket,id=a,,b"}, n = 42, f = 1.5,
               yes = true, no = false, empty_obj = {}, empty_arr = setmetatable({}, core.json_array),
               ["key with \"odd\",\n"] = s}
    local text = core.json_encode(t)
    eq(text:find("\0", 1, true), nil, "no raw NUL in the text")
    eq(text:find("\n", 1, true), nil, "one line")
    local back = assert(core.json_decode(text))
    eq(back.name, s)
    eq(back.argv[2], s)
    eq(back.argv[4], "socket,id=a,,b")
    eq(back["key with \"odd\",\n"], s)
    eq(back.n, 42)
    eq(math.type(back.n), "integer")
    eq(back.f, 1.5)
    eq(back.yes, true)
    eq(back.no, false)
    eq(core.json_encode(back), text, "the same text again (sorted keys, [] kept)")
    eq(core.json_decode(core.json_encode(t, true)).name, s, "pretty form")
    eq(core.json_encode({a = core.json_null}), '{"a":null}')
    eq(core.json_decode('"\\u0000"'), "\0")
    eq(core.json_decode('"\\\\u0000"'), "\\u0000", "an escaped backslash, not a NUL")
  end)

  it("refuses what is not JSON, and values JSON cannot hold", function()
    local v, msg = core.json_decode('{"a": 1} trailing')
    eq(v, nil)
    eq(msg:match("invalid JSON") ~= nil, true, msg)
    eq((core.json_decode("")), nil)
    local ok, e = pcall(core.json_encode, {f = print})
    eq(ok, false)
    eq(e.kind, "usage")
    -- a key is a C string in cJSON: one with a NUL byte is refused, not cut
    ok, e = pcall(core.json_encode, {["a\0b"] = 1})
    eq(ok, false)
    eq(e.message:match("keys must be strings without NUL bytes") ~= nil, true, e.message)
  end)
end)

describe("the subcommand words", function()
  it("ls lists nothing under an empty runtime dir; stop and qmp name what is missing", function()
    local rundir = tmpdir()
    local r = run({bin, "--runtime-dir", rundir, "ls"})
    eq(r.code, 0, r.err)
    eq(r.out:match("^NAME%s+STATE") ~= nil, true, r.out)
    r = run({bin, "ls", "--json", "--runtime-dir", rundir})
    eq(r.code, 0, r.err)
    eq(r.out, "[]")
    r = run({bin, "--runtime-dir", rundir, "stop", "ghost"})
    eq(r.code, 1)
    eq(r.err, "vclaunch stop: no running VM named 'ghost' under " .. rundir)
    r = run({bin, "--runtime-dir", rundir, "qmp", "ghost", "query-status"})
    eq(r.code, 1)
    r = run({bin, "--runtime-dir", rundir, "qmp", "ghost", "query-status", "[1]"})
    eq(r.code, 64, r.err)
    eq(r.err:match("JSON%-ARGS must be a JSON object") ~= nil, true, r.err)
    r = run({bin, "stop"})
    eq(r.code, 64)
    r = run({bin, "ls", "--kill"})
    eq(r.code, 64)
    eq(r.err:match("unknown option '%-%-kill'") ~= nil, true, r.err)
    r = run({bin, "stop", "x", "--timeout", "0"})
    eq(r.code, 64)
    os.remove(rundir)
  end)

  it("a recipe file named like a subcommand runs as ./ls", function()
    local dir = tmpdir()
    assert(os.execute("mkdir " .. dir))
    local f = assert(io.open(dir .. "/ls", "w"))
    f:write('print("THE RECIPE RAN") return 3\n')
    f:close()
    local r = run({bin, "./ls"}, dir)
    eq(r.code, 3, r.err)
    eq(r.out, "THE RECIPE RAN")
    os.remove(dir .. "/ls")
    os.remove(dir)
  end)

  it("--help lists the subcommands", function()
    local r = run({bin, "--help"})
    eq(r.code, 0)
    for _, w in ipairs({"ls %[%-%-json%]", "stop NAME %[%-%-kill%] %[%-%-timeout S%]",
                        "qmp NAME COMMAND %[JSON%-ARGS%]"}) do
      eq(r.out:match(w) ~= nil, true, w)
    end
  end)
end)

describe("the control socket", function()
  it("answers one line, holds the connection until closed, and says when nobody listens", function()
    local dir = tmpdir()
    assert(os.execute("mkdir -m 700 " .. dir))
    local path = dir .. "/ctl.sock"
    local seen, arrived = {}, core.cond()
    local server = core.ctl_listen(path, function(line)
      seen[#seen + 1] = line
      arrived:signal()
      if line == "hold" then return "held\n", true end
      return "bye " .. line .. "\n", false
    end)
    eq(core.ctl_request(path, "hello, world", 5), "bye hello, world\n")
    -- a held request ends when the server closes
    local t = core.spawn(function() return core.ctl_request(path, "hold", 5) end)
    arrived:wait(5) -- t waits first, so its request cannot come before this wait
    eq(seen[2], "hold")
    server:close()
    eq(t:wait(), "held\n")
    eq(seen[1], "hello, world")
    -- nobody listens: an io error with the errno's name
    local ok, e = pcall(core.ctl_request, path, "x", 5)
    eq(ok, false)
    eq(e.kind, "io")
    eq(e.code, "ECONNREFUSED")
    os.remove(path)
    ok, e = pcall(core.ctl_request, path, "x", 5)
    eq(e.code, "ENOENT")
    -- a held request that outlives its timeout
    server = core.ctl_listen(path, function() return "held\n", true end)
    ok, e = pcall(core.ctl_request, path, "hold", 0.2)
    eq(ok, false)
    eq(e.kind, "timeout")
    eq(e.partial, "held\n")
    server:close()
    os.remove(path)
    os.remove(dir)
  end)
end)
