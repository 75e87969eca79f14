-- wrk script for bench/http_ingest.sh: every request is a GitHub webhook to
-- POST /v1/ingest/bench, the same body and its valid X-Hub-Signature-256
-- (computed once by the shell script: GitHub signs the body only), and a
-- X-GitHub-Delivery unique per request (thread number and counter), so each
-- one is verified and published as a new event, none is a duplicate.
local body = os.getenv("INGEST_BODY")
local signature = os.getenv("INGEST_SIGNATURE")
if body == nil or signature == nil then
  error("ingest.lua: set INGEST_BODY and INGEST_SIGNATURE")
end

wrk.method = "POST"
wrk.path = "/v1/ingest/bench"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-GitHub-Event"] = "push"
wrk.headers["X-Hub-Signature-256"] = signature

-- The request is formatted once with a placeholder for the delivery id and
-- cut around it, so each request costs wrk one string concatenation (not a
-- wrk.format): the baseline run on /healthz sends a fixed request, and the
-- load generator shares the cores with the node.
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("number", threads)
end

function init(args)
  sent = 0
  wrk.headers["X-GitHub-Delivery"] = "DELIVERY_ID"
  local whole = wrk.format()
  local at = whole:find("DELIVERY_ID", 1, true)
  before = whole:sub(1, at - 1) .. "t" .. number .. "-"
  after = whole:sub(at + #"DELIVERY_ID")
end

function request()
  sent = sent + 1
  return before .. sent .. after
end
