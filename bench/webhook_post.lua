-- wrk script for bench/webhooks.py: the same POST evmesh sends for a webhook
-- (the same body bytes and Standard Webhooks headers, a fixed signature),
-- so wrk and evmesh drive the receiver with identical requests.
local body = os.getenv("WEBHOOK_BODY")
if body == nil or body == "" then
  error("webhook_post.lua: set WEBHOOK_BODY")
end
wrk.method = "POST"
wrk.body = body
wrk.headers["content-type"] = "application/json"
wrk.headers["user-agent"] = "evmesh/bench"
wrk.headers["webhook-id"] = "01BENCH00000000000000000000"
wrk.headers["webhook-timestamp"] = "1700000000"
wrk.headers["webhook-signature"] = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
