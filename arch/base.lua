-- Policy shared by every architecture: pure data and small functions, no
-- I/O. An arch file starts from a copy of this table and overrides fields.
local M = {}

M.max_vcpus = 240
M.default_memory = 512 -- MiB

-- Kernel parameters: the quiet and debug sets, then the pod's own.
M.kernel_params = {
  quiet = {"quiet", "panic=1"},
  debug = {"debug", "panic=1"},
}

function M.smp(pod)
  local vcpus = pod.vcpus or 1
  local max = pod.max_vcpus or vcpus
  return {cpus = vcpus, sockets = max, cores = 1, threads = 1, maxcpus = max}
end

function M.memory(pod)
  local mem = pod.memory or M.default_memory
  local t = {size = mem .. "M"}
  if pod.max_memory then
    t.maxmem = pod.max_memory .. "M"
    t.slots = pod.memory_slots or 1
  end
  return t
end

-- The kernel command line: console parameter, quiet/debug set, the pod's.
function M.cmdline(self, pod)
  local k = pod.kernel or {}
  local parts = {self.console_param}
  for _, p in ipairs(k.debug and self.kernel_params.debug or self.kernel_params.quiet) do
    parts[#parts + 1] = p
  end
  if k.params then parts[#parts + 1] = k.params end
  return table.concat(parts, " ")
end

return M
