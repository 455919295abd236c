-- wrk script for bench/ingest.py: POST pre-signed LINE webhook bodies.
--
-- LuaJIT cannot compute HMAC-SHA256, so bench/ingest.py writes the bodies and
-- their X-Line-Signature to a file ("signature<TAB>body" per line). Each wrk
-- thread takes its own slice, so no two requests of a run send the same body.

local bodies_file = os.getenv("INGEST_BODIES")
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local total = tonumber(os.getenv("INGEST_THREADS"))
  local lines = {}
  local n = 0
  for line in io.lines(bodies_file) do
    if n % total == id then
      table.insert(lines, line)
    end
    n = n + 1
  end
  items = lines
  index = 0
  reused = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  if #items == 0 then
    error("no bodies for thread " .. id .. " in " .. bodies_file)
  end
  index = index + 1
  if index > #items then
    index = 1
    reused = reused + 1
  end
  local line = items[index]
  local tab = string.find(line, "\t", 1, true)
  wrk.headers["X-Line-Signature"] = string.sub(line, 1, tab - 1)
  return wrk.format(nil, nil, nil, string.sub(line, tab + 1))
end

function done(summary, latency, requests)
  local wraps = 0
  for _, thread in ipairs(threads) do
    wraps = wraps + (thread:get("reused") or 0)
  end
  io.write(string.format(
    'RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, ' ..
    '"non2xx": %d, "socket_errors": %d, "wraps": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    summary.errors.status, summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout, wraps))
end
