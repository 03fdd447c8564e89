-- wrk script for the lookup benchmark.
--
--   wrk -t2 -cN -dS --latency -s wrk.lua http://127.0.0.1:PORT -- [stride=K] PATH|@FILE ...
--
-- Requests cycle through the PATHs given after `--` (or the lines of @FILE). They are
-- pre-formatted once per thread, so rotating costs the client almost nothing.
-- Without stride every thread cycles through all paths, starting at its own offset;
-- with stride=K (K = the thread count) thread i takes only the paths i, i+K, i+2K...,
-- so each path is asked once per full cycle (how the benchmark defeats a result cache).
-- No response() callback: defining one makes wrk hand every body to Lua, which would
-- slow the client more than the servers. At the end, one line "WRK_JSON {...}" carries
-- the totals and latency percentiles (microseconds).

local counter = 0

function setup(thread)
  thread:set("offset", counter)
  counter = counter + 1
end

local requests = {}
local index = 0

function init(args)
  local paths = {}
  local stride = 0
  for _, arg in ipairs(args) do
    local k = arg:match("^stride=(%d+)$")
    if k then
      stride = tonumber(k)
    elseif arg:sub(1, 1) == "@" then
      for line in io.lines(arg:sub(2)) do
        if #line > 0 then paths[#paths + 1] = line end
      end
    else
      paths[#paths + 1] = arg
    end
  end
  local me = offset or 0
  for i, path in ipairs(paths) do
    if stride == 0 or (i - 1) % stride == me then
      requests[#requests + 1] = wrk.format("GET", path)
    end
  end
  if #requests == 0 then
    requests[1] = wrk.format("GET", wrk.path)
  end
  index = (stride == 0) and (me % #requests) or 0
end

function request()
  index = index % #requests + 1
  return requests[index]
end

function done(summary, latency, requests_stats)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"min":%d,"mean":%.1f,"stdev":%.1f,"max":%d,' ..
    '"p50":%d,"p75":%d,"p90":%d,"p99":%d,"p99_9":%d}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.stdev, latency.max,
    latency:percentile(50), latency:percentile(75), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9)))
end
