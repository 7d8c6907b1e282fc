-- Settings shared by the vclaunch modules, set by the CLI or the embedding
-- tool: accel, runtime_dir, log_level, echo_console, dry_run.
return {}
