-- The vclaunch command line: vclaunch [options] recipe.lua [args...]
local core = require "vclaunch.core"
local vc = require "vclaunch"

local M = {}

-- Exit codes of vclaunch's own failures (QEMU's status passes through).
local EXIT = {usage = 64, recipe = 65, start = 69, panic = 79}
-- The subcommands of vclaunch.admin, which is loaded only to run one.
local ADMIN_COMMANDS = {ls = true, stop = true, qmp = true}

local HELP = [[
usage: vclaunch [options] recipe.lua [args...]
       vclaunch [--runtime-dir DIR] ls [--json]
       vclaunch [--runtime-dir DIR] stop NAME [--kill] [--timeout S]
       vclaunch [--runtime-dir DIR] qmp NAME COMMAND [JSON-ARGS] [--pretty]

Runs recipe.lua in a vclaunch task, with its arguments in `arg` and `...`.
If the recipe returns a pod (vclaunch.pod{...}), vclaunch starts it in the
foreground: the guest console goes to stdout, and vclaunch exits when the
VM does, with QEMU's exit status (128 + signal when QEMU was killed). If it
returns a number (0 to 255), vclaunch exits with it.

console: vclaunch's stdin goes to that pod's console. On a terminal (raw
mode) every key goes to the guest; Ctrl-] quits: the VM goes down the
shutdown ladder (Ctrl-] again kills it) and the terminal is restored, with
what was typed meanwhile discarded. Stdin that is not a terminal is
forwarded as it comes; its end does not stop the VM.

options:
  --dry-run          print the QEMU command of the returned pod, shell-quoted,
                     and exit without starting it; a recipe that calls
                     pod:start() stops there, printing each started pod's
                     full command, then a line "# NAME: vclaunch adds at
                     start: ..." with the QMP monitor, pidfile and -S
                     arguments vclaunch adds; nothing is written (no
                     runtime dir, log or socket) and no QEMU runs
  --dry-run=json     the same, as a JSON array; at pod:start(), one object
                     per pod: name, argv, vclaunch_args_at (0-based) and
                     vclaunch_args
  --accel ACCEL      kvm or tcg (default: kvm when /dev/kvm can be opened
                     and the pod's arch is the host's, else tcg); a pod's own
                     accel field wins
  --runtime-dir DIR  where VM runtime directories go (default:
                     $XDG_RUNTIME_DIR/vclaunch, /run/vclaunch as root,
                     else /tmp/vclaunch-UID)
  --log-level LEVEL  error (default): errors only; info: also the progress
                     lines (each QEMU's start, QMP ready, guest ready, each
                     shutdown step, exit), which a terminal on stderr gets
                     at any level; debug: also each QEMU command line and
                     Lua tracebacks
  --log-dir DIR      where each VM run's console log is kept, one file
                     NAME-YYYYMMDD-HHMMSS-PID.log per run (default:
                     $XDG_STATE_HOME/vclaunch, /var/log/vclaunch as root,
                     else ~/.local/state/vclaunch)
  --events FILE      append one JSON object per line to FILE (- : stderr)
                     for each VM's lifecycle steps (starting, qmp-ready,
                     guest-ready, stopping, shutdown-step, exited, failed)
                     and each QMP event, with "time" and "vm"
  --stop-timeout S   seconds each shutdown step may take on SIGINT/SIGTERM
                     (default 10)
  --kinds [KIND]     list the device kinds for pod.devices, or one kind's
                     fields (type, required/default, values, meaning)
  --help             this text
  --version          the version

exit status:
  QEMU's         the recipe returned a pod: QEMU's exit status, or 128 +
                 the signal that ended QEMU
  the guest's    with pod.guest_status, the number the guest wrote to its
                 vclaunch.status port before it powered off (modulo 256)
  the recipe's   the recipe returned a number (0 to 255)
  0              the recipe finished
  64             usage error (bad option, no recipe)
  65             the recipe failed (an invalid pod, an error it raised or
                 did not catch, a recipe file that does not load)
  69             QEMU could not be started (or died before QMP was ready)
  79             the guest panicked (QEMU ends on a panic:
                 -action panic=exit-failure)
  128 + signal   vclaunch itself was stopped by SIGINT, SIGTERM or SIGHUP
  ls, stop, qmp: 0 done, 1 no such VM (or several), a QMP error or a
                 timeout, 64 usage error

When the recipe ends (returns or fails), the tasks it spawned are
cancelled and every VM it left running goes down the shutdown ladder.

seeing and stopping VMs (run by any vclaunch under the same runtime dir):
  ls [--json]        each running VM: name, QMP run state ("unknown" when its
                     monitor does not answer within 2 s), vclaunch and QEMU
                     pids, uptime, runtime dir; --json: a JSON array
  stop NAME          asks the vclaunch that owns NAME to run its shutdown
                     ladder (--timeout S seconds a step, default 10) and
                     waits until the VM is gone; --kill: SIGKILL to its QEMU
                     at once (the pid checked against QEMU's pidfile and
                     command line), then waits for the owner to let go
  qmp NAME COMMAND [JSON-ARGS]
                     runs one QMP command through the VM's second monitor
                     (the owner's own session is untouched) and prints the
                     reply's "return" as JSON (--pretty: indented)
  NAME is a VM name, or its runtime dir when several VMs share the name.
  Exit status: 0 done; 1 no such VM (or several), QMP error, the VM did
  not go in time, or its owner could not be reached; 64 usage error.
  ls, stop and qmp are always these subcommands: run a recipe file named
  like one as ./ls (any argument with a "/" or ending in .lua is a recipe).

signals: SIGINT, SIGTERM or SIGHUP shuts every running VM down through the ladder
(system_powerdown to a running guest, quit, SIGTERM, SIGKILL; each step at
most --stop-timeout; a paused guest gets no power button, a stopped QEMU no QMP)
after cancelling the recipe,
removes the runtime directories and exits with 128 + the signal number; a
second signal kills the VMs at once. With NOTIFY_SOCKET set (systemd's
Type=notify), vclaunch sends READY=1 once the first VM's QMP is up and
STOPPING=1 when it begins to shut down. If vclaunch itself is killed
(SIGKILL), its QEMUs die with it (parent-death signal); their runtime
directories stay until the next vclaunch that starts a VM under the same
runtime directory removes them.
]]

-- --kinds [KIND]: the device kinds, from the core's own field tables.
local function list_kinds(name)
  local kinds = core.kinds()
  if not name then
    local names = {}
    for n in pairs(kinds) do names[#names + 1] = n end
    table.sort(names)
    for _, n in ipairs(names) do
      io.stdout:write(("%-22s %s\n"):format(n, kinds[n].doc))
    end
    return 0
  end
  local k = kinds[name]
  if not k then
    io.stderr:write("vclaunch: --kinds: unknown device kind '", name, "'\n")
    return EXIT.usage
  end
  io.stdout:write(name, ": ", k.doc, "\n")
  for _, f in ipairs(k.fields) do
    local what = f.type
    if f.values then what = table.concat(f.values, "|") end
    if f.min then what = ("%s %d..%d"):format(what, f.min, f.max) end
    local notes = {}
    if f.required then notes[#notes + 1] = "required" end
    if f.default then notes[#notes + 1] = "default " .. f.default end
    if f.doc then notes[#notes + 1] = f.doc end
    io.stdout:write(("  %-24s %-18s %s\n"):format(f.name, what, table.concat(notes, "; ")))
  end
  return 0
end

local function usage_error(msg)
  io.stderr:write("vclaunch: ", msg, "\n(see vclaunch --help)\n")
  return EXIT.usage
end

function M.main(argv, version)
  local opts, i = {}, 1
  while i <= #argv do
    local a = argv[i]
    local name, value = a:match("^(%-%-[%w-]+)=(.*)$")
    name = name or a
    local function take()
      if value then return value end
      i = i + 1
      return argv[i]
    end
    if name == "--help" or name == "-h" then
      io.stdout:write(HELP)
      return 0
    elseif name == "--kinds" then
      local k = value or argv[i + 1]
      if k and k:sub(1, 1) == "-" then k = nil end
      return list_kinds(k)
    elseif name == "--version" then
      io.stdout:write("vclaunch ", version, "\n")
      return 0
    elseif name == "--dry-run" then
      opts.dry_run = value or "shell"
      if opts.dry_run ~= "shell" and opts.dry_run ~= "json" then
        return usage_error("--dry-run takes shell or json, not '" .. opts.dry_run .. "'")
      end
    elseif name == "--accel" then
      opts.accel = take()
      if opts.accel ~= "kvm" and opts.accel ~= "tcg" then
        return usage_error("--accel takes kvm or tcg, not '" .. tostring(opts.accel) .. "'")
      end
    elseif name == "--runtime-dir" then
      opts.runtime_dir = take()
      if not opts.runtime_dir then return usage_error("--runtime-dir needs a directory") end
    elseif name == "--stop-timeout" then
      opts.stop_timeout = tonumber(take())
      if not opts.stop_timeout or opts.stop_timeout <= 0 then
        return usage_error("--stop-timeout takes a positive number of seconds")
      end
    elseif name == "--log-dir" then
      opts.log_dir = take()
      if not opts.log_dir or opts.log_dir == "" then return usage_error("--log-dir needs a directory") end
    elseif name == "--events" then
      opts.events = take()
      if not opts.events or opts.events == "" then return usage_error("--events needs a file (or -)") end
    elseif name == "--log-level" then
      opts.log_level = take()
      if opts.log_level ~= "error" and opts.log_level ~= "info" and opts.log_level ~= "debug" then
        return usage_error("--log-level takes error, info or debug")
      end
    elseif a:sub(1, 1) == "-" and a ~= "-" then
      return usage_error("unknown option '" .. a .. "'")
    else
      break
    end
    i = i + 1
  end
  local recipe = argv[i]
  if not recipe then return usage_error("no recipe given") end
  -- ls, stop, qmp (a recipe so named runs as ./ls)
  if ADMIN_COMMANDS[recipe] then return require("vclaunch.admin").main(recipe, argv, i + 1, opts) end
  local rargs = {[0] = recipe}
  for j = i + 1, #argv do rargs[#rargs + 1] = argv[j] end

  vc.options.accel = opts.accel
  vc.options.runtime_dir = opts.runtime_dir
  vc.options.log_level = opts.log_level or "error"
  -- vclaunch.logs, .events: console logs kept in the log dir, --events
  -- lines, NOTIFY_SOCKET, progress lines on a terminal; none in --dry-run
  local events = require "vclaunch.events"
  if not opts.dry_run then
    vc.options.log_dir = opts.log_dir or true
    vc.options.events = opts.events
    local okev, everr = events.open()
    if not okev then return usage_error("--events: " .. everr) end
    local sock = os.getenv("NOTIFY_SOCKET")
    vc.options.notify = sock ~= "" and sock or nil
  end
  vc.options.progress = core.guess_handle(2) == "tty"
  -- main.c's message handler adds a traceback to errors that reach it
  VCLAUNCH_DEBUG = opts.log_level == "debug"

  local chunk, err = loadfile(recipe)
  if not chunk then
    io.stderr:write("vclaunch: ", err, "\n")
    return EXIT.recipe
  end
  arg = rargs

  local code = 0
  local trace -- the failing recipe's traceback, kept with --log-level debug
  local function report(e)
    io.stderr:write("vclaunch: ", tostring(e), "\n")
    if opts.log_level == "debug" and trace then io.stderr:write(trace, "\n") end
  end
  -- The exit code of a failure: QEMU that could not be started, or any
  -- other error of the recipe.
  local function failed(e)
    if type(e) == "table" and e.during == "start" and e.kind ~= "recipe" and e.kind ~= "usage" then
      return EXIT.start
    end
    return EXIT.recipe
  end
  -- Every VM still running goes down the shutdown ladder, in parallel.
  local function shutdown_all()
    local tasks = {}
    for vm in pairs(vc._live) do
      tasks[#tasks + 1] = core.spawn(function() vm:shutdown{timeout = opts.stop_timeout or 10} end)
    end
    for _, t in ipairs(tasks) do pcall(t.wait, t) end
  end
  local function dry_run(argv)
    io.stdout:write(core.render(argv, opts.dry_run), "\n")
    io.stdout:flush()
  end
  vc.options.dry_run = opts.dry_run
  -- pod:start() under --dry-run: the full argv, and which arguments are
  -- vclaunch's own (a comment line; a field in JSON)
  vc.options.on_dry_run = function(d)
    local own = table.move(d.argv, d.first, d.first + d.count - 1, 1, {})
    if opts.dry_run == "json" then
      io.stdout:write(('{"name":%s,"argv":%s,"vclaunch_args_at":%d,"vclaunch_args":%s}\n'):format(
        core.render({d.name}, "json"):sub(2, -2), core.render(d.argv, "json"), d.first - 1,
        core.render(own, "json")))
    else
      io.stdout:write(core.render(d.argv, "shell"), "\n# ", d.name, ": vclaunch adds at start: ",
                      core.render(own, "shell"), "\n")
    end
    io.stdout:flush()
  end

  local main -- the recipe's task
  -- the foreground VM's stdin reader (vclaunch.attach): closed after the
  -- loop ends, so the terminal stays raw, and keys stay away from the
  -- shell, until vclaunch is done
  local input
  -- SIGINT/SIGTERM: the recipe is cancelled and every live VM goes down
  -- the shutdown ladder, then the loop stops. A second signal kills at once.
  local signalled
  local function on_signal(signum)
    if signalled then
      for vm in pairs(vc._live) do vm.proc:kill(9) end
      return
    end
    signalled = signum
    vc.options.kill_hint = signum == 2 and "Ctrl-C again to kill" or "a second signal kills"
    events.notify("STOPPING=1")
    main:cancel()
    core.spawn(function()
      shutdown_all()
      core.stop()
    end)
  end
  -- SIGHUP (the terminal went away) stops vclaunch as SIGTERM does
  local watchers = {core.on_signal("INT", on_signal), core.on_signal("TERM", on_signal),
                    core.on_signal("HUP", on_signal)}

  main = core.spawn(function()
    core.trace_recipe(chunk)
    local ok, pod = xpcall(chunk, function(e)
      if opts.log_level == "debug" then trace = debug.traceback("recipe stack:", 2) end
      return e
    end, table.unpack(rargs, 1, #rargs))
    -- What the recipe spawned ends with it, and no QEMU outlives its
    -- recipe unless it was returned to run.
    core.cancel_spawned()
    if not ok and type(pod) == "table" and pod.dry_run then
      if not pod.printed then dry_run(pod.dry_run) end
      ok, pod = true, nil
    elseif not ok then
      report(pod)
      code = failed(pod)
    end
    local returned_pod = ok and type(pod) == "table" and pod.argv and pod.start and not opts.dry_run
    if not returned_pod then events.notify("STOPPING=1") end
    shutdown_all()
    if not ok then return end
    if type(pod) == "table" and pod.argv and pod.start then
      if opts.dry_run then
        dry_run(pod:argv())
        return
      end
      vc.options.echo_console = true
      vc.options.echo_partial = true
      local okvm, vm = pcall(pod.start, pod)
      if not okvm then
        report(vm)
        code = failed(vm)
        return
      end
      -- stdin to the guest console; Ctrl-] runs the ladder, twice kills
      input = require("vclaunch.attach").attach(vm, function()
        core.spawn(function() vm:shutdown{timeout = opts.stop_timeout or 10} end)
      end, function() if not vm.exit then vm.proc:kill(9) end end)
      local status = vm:wait()
      events.notify("STOPPING=1")
      code = status.code or (128 + status.signal)
      if status.panicked then
        io.stderr:write("vclaunch: ", vm.name, ": the guest panicked\n")
        code = EXIT.panic
      elseif status.code == 0 and status.guest_status then
        -- the status the guest wrote to vclaunch.status (pod.guest_status)
        code = status.guest_status & 0xff
      end
    elseif math.type(pod) == "integer" and not opts.dry_run then
      -- a recipe that returns a number exits with it (after the ladder)
      if pod < 0 or pod > 255 then
        report(("the recipe returned %d: an exit status is 0 to 255"):format(pod))
        code = EXIT.recipe
      else
        code = pod
      end
    elseif opts.dry_run and not pod then
      -- dry_run printed what start() would have run
    elseif opts.dry_run then
      report("--dry-run: the recipe did not return a pod")
      code = EXIT.recipe
    end
  end)
  core.run()
  if input then input:close() end
  for _, w in ipairs(watchers) do w:close() end
  events.close()
  if signalled then
    io.stderr:write(("vclaunch: stopped by signal %d\n"):format(signalled))
    return 128 + signalled
  end
  return code
end

return M
