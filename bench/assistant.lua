-- wrk script for bench/api.py: GET or PATCH one URL, then print the figures on one line.
--   wrk -s bench/assistant.lua -H 'Authorization: Bearer ...' URL -- GET|PATCH
-- PATCH bodies alternate a new prompt and a new first sentence, numbered so that every
-- request is a real write (the same bodies as patch_body() in bench/api.py).

local counter = 0

function init(args)
  wrk.method = args[1] or "GET"
  if wrk.method ~= "PATCH" then
    request = nil -- wrk then sends one pre-built request over and over
  end
end

function request()
  counter = counter + 1
  local body
  if counter % 2 == 0 then
    body = string.format('{"prompt":"You are a helpful agent (revision %d)."}', counter)
  else
    body = string.format('{"first_sentence":"Hello, this is revision %d."}', counter)
  end
  return wrk.format(nil, nil, nil, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK requests=%d duration_us=%d p50_us=%d p99_us=%d errors=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.status + e.timeout
  ))
end
