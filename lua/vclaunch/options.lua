-- Settings shared by the vclaunch modules, set by the CLI or the embedding
-- tool: accel, runtime_dir, log_level, echo_console, dry_run; log_dir
-- (vclaunch.logs: a directory or true for the default one; nil keeps the
-- console log in the runtime dir only), echo_prefix (vclaunch.console),
-- events, notify and progress (vclaunch.events, errors.progress).
return {}
