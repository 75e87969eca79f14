#!/usr/bin/env bash
# http_ingest.sh: verified inbound webhooks per second on one node, with
# GET /healthz on the same node in the same run as the baseline. Starts a
# node on 127.0.0.1:0 with a temp data dir, creates a GitHub source
# (topic from X-GitHub-Event, HMAC-SHA256 of the body), signs one body with
# the openssl CLI, runs wrk (keep-alive) against /healthz and then against
# POST /v1/ingest/bench (bench/ingest.lua: a new X-GitHub-Delivery per
# request, so every request is verified and published as a new, durable
# event), checks that every answer was 2xx and that the node counted as many
# accepted ingests (and no duplicates or rejections), stops the node with
# SIGTERM (it must exit 0) and prints requests/s, the ratio ingest/healthz
# and the latency percentiles. Loopback only.
#
#   bench/http_ingest.sh [EVMESH_BINARY]       (default build/cli/evmesh)
#   DURATION=10 CONNECTIONS=64 THREADS=2       (environment; seconds per wrk run)
set -euo pipefail

script_dir=$(cd "$(dirname "$0")" && pwd)
bench=http_ingest
source "$script_dir/node_lib.sh" "$@"
command -v openssl >/dev/null || { echo "$bench: openssl is not installed" >&2; exit 2; }
start_node "$binary"

secret=bench-secret
curl -fsS -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d '{"name":"bench","topic":{"header":"X-GitHub-Event","prefix":"github."},
       "verifier":{"type":"github","secret":"'$secret'"}}' "$url/v1/sources" >/dev/null ||
  fail "creating the source failed"
body='{"ref":"refs/heads/main","repository":{"full_name":"octo/bench"},"pusher":{"name":"'$(printf 'x%.0s' $(seq 40))'"}}'
signature="sha256=$(printf '%s' "$body" | openssl dgst -sha256 -hmac "$secret" | awk '{ print $NF }')"

# --- the two wrk runs ----------------------------------------------------------
echo "node:    $binary at $url (pid $node_pid)"
echo "healthz: wrk ${wrk_args[*]} $url/healthz"
wrk "${wrk_args[@]}" "$url/healthz" >"$work/healthz.txt"
echo "ingest:  wrk ${wrk_args[*]} --script $script_dir/ingest.lua $url/v1/ingest/bench"
INGEST_BODY=$body INGEST_SIGNATURE=$signature \
  wrk "${wrk_args[@]}" --script "$script_dir/ingest.lua" "$url/v1/ingest/bench" >"$work/ingest.txt"

ingest_requests=$(requests "$work/ingest.txt")
count() {
  curl -fsS "$url/metrics" |
    awk -v r="$1" '$1 == "evmesh_ingest_requests_total{source=\"bench\",result=\"" r "\"}" { print $2 }'
}
accepted=$(count accepted)
rejected=$(( $(count duplicate) + $(count rejected_signature) + $(count rejected_stale) + $(count rejected_invalid) + $(count error) ))
published=$(curl -fsS "$url/metrics" | awk '$1 == "evmesh_events_published_total" { print $2 }')

stop_node

# --- report ----------------------------------------------------------------------
report_runs ingest healthz
echo "ingest requests (wrk): $ingest_requests, accepted: $accepted, not accepted: $rejected, published: $published"

# wrk counts answered requests; up to one request per connection may still be
# in flight (and stored) when a run ends.
problems=()
[[ $(non_2xx "$work/ingest.txt") == 0 ]] || problems+=("$(non_2xx "$work/ingest.txt") ingest answers were not 2xx")
[[ $rejected == 0 ]] || problems+=("$rejected ingests were not accepted as new events")
(( accepted >= ingest_requests && accepted <= ingest_requests + connections )) ||
  problems+=("accepted $accepted does not match the $ingest_requests answered requests")
finish
