-- Shared by the workload scripts: fixture loading (each wrk thread takes its own share of
-- the lines) and the one-line JSON summary bench/run.sh reads.
local M = {}

local next_thread_id = 0

-- Runs in wrk's main Lua state, once per thread: number the threads.
function M.setup(thread)
  thread:set("thread_id", next_thread_id)
  next_thread_id = next_thread_id + 1
end

-- The lines of a fixture file (tab-separated fields) that belong to this thread.
function M.load(name)
  local threads = tonumber(os.getenv("BENCH_THREADS") or "1")
  local path = os.getenv("BENCH_FIXTURES") .. "/" .. name
  local items, n = {}, 0
  for line in io.lines(path) do
    if n % threads == thread_id then
      local fields = {}
      for field in string.gmatch(line, "[^\t]+") do fields[#fields + 1] = field end
      items[#items + 1] = fields
    end
    n = n + 1
  end
  return items
end

function M.urlencode(text)
  return (string.gsub(text, "[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

function M.done(summary, latency, requests)
  local e = summary.errors
  local seconds = summary.duration / 1e6
  io.write(string.format(
    'BENCH {"requests":%d,"seconds":%.3f,"rps":%.1f,"p50_ms":%.3f,"p99_ms":%.3f,"errors":%d,"status_errors":%d}\n',
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    e.connect + e.read + e.write + e.status + e.timeout, e.status))
end

return M
