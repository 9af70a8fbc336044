-- wrk script for bench/peers.py: POSTs one JSON body, counts every answer that is not a clean 200 (a GraphQL
-- error comes back as 200 with "errors": a benchmark of error answers measures nothing), prints the first such
-- answer, then the figures as one JSON line.
--
--   wrk -t1 -c32 -d5s --latency -s post.lua URL -- BODY_FILE [BEARER_TOKEN]

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local file = assert(io.open(args[1], "rb"))
  wrk.body = file:read("*a")
  file:close()
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  if args[2] and args[2] ~= "" then
    wrk.headers["Authorization"] = "Bearer " .. args[2]
  end
  bad = 0 -- wrk formats the request once after init: no Lua runs per request sent
end

function response(status, headers, body)
  if status ~= 200 or string.find(body, '"errors"', 1, true) then
    bad = bad + 1
    if bad == 1 then
      sample = status .. " " .. string.sub(string.gsub(body, "%s+", " "), 1, 300)
    end
  end
end

function done(summary, latency, requests)
  local failed = 0
  for _, thread in ipairs(threads) do
    failed = failed + thread:get("bad")
    if thread:get("sample") then
      io.write("failed answer: " .. thread:get("sample") .. "\n")
    end
  end
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "bad": %d, ' ..
    '"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), failed,
    e.connect, e.read, e.write, e.status, e.timeout))
end
