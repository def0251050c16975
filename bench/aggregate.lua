-- wrk script of bench/aggregate.sh: GET the paths of env WRK_PATHS (space-separated) in turn,
-- one per request, so that one run of N requests makes N / #paths of each. Prints the same
-- SUMMARY / LATENCY_US lines as ../shared/peers/post.lua. Non-2xx/3xx count as errors.status.
local paths = {}
for p in string.gmatch(os.getenv("WRK_PATHS") or "/", "%S+") do paths[#paths + 1] = p end
local next_path = 0

request = function()
  next_path = next_path % #paths + 1
  return wrk.format("GET", paths[next_path])
end

done = function(summary, latency, requests)
  local s = summary.duration / 1e6
  io.write(string.format(
    "SUMMARY rps=%.1f requests=%d duration_s=%.2f errors(connect=%d read=%d write=%d status=%d timeout=%d)\n",
    summary.requests / s, summary.requests, s,
    summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.status, summary.errors.timeout))
  io.write(string.format(
    "LATENCY_US p50=%d p90=%d p99=%d p99.9=%d max=%d mean=%.1f\n",
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max, latency.mean))
end
