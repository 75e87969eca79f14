-- wrk script for bench/http_publish.sh: every request publishes one event,
-- POST /v1/events with 100 bytes of JSON data (the same data as
-- bench/inproc_publish), authorised by the token in EVMESH_TOKEN.
-- done() prints machine-readable lines the shell script checks:
--   publish.lua: requests N non_202 N
local token = os.getenv("EVMESH_TOKEN")
if token == nil or token == "" then
  error("publish.lua: set EVMESH_TOKEN to a token with publish scope")
end

wrk.method = "POST"
wrk.path = "/v1/events"
wrk.body = '{"topic":"bench.http","data":'
  .. '{"order":123456,"customer":"c-000042","note":"'
  .. string.rep("x", 52) .. '"}}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. token

-- Each wrk thread has its own Lua state: count there, sum in done().
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  answered = 0
  non_202 = 0
end

function response(status, headers, body)
  answered = answered + 1
  if status ~= 202 then
    non_202 = non_202 + 1
  end
end

function done(summary, latency, requests)
  local answered_total, non_202_total = 0, 0
  for _, thread in ipairs(threads) do
    answered_total = answered_total + thread:get("answered")
    non_202_total = non_202_total + thread:get("non_202")
  end
  io.write(string.format("publish.lua: requests %d non_202 %d\n", answered_total, non_202_total))
end
