#!/usr/bin/env bash
# http_publish.sh: HTTP publish throughput of the real `evmesh` binary, with
# GET /healthz on the same node in the same run as the baseline (what the
# HTTP edge costs with no work behind it). Starts a node on 127.0.0.1:0 with
# a temp data dir, runs wrk against /healthz and then POST /v1/events
# (bench/publish.lua), checks that every publish was answered 202 and that
# the node's evmesh_events_published_total matches wrk's request count, stops
# the node with SIGTERM (it must exit 0) and prints requests/s, the ratio
# publish/healthz and the publish latency percentiles. Loopback only.
#
#   bench/http_publish.sh [EVMESH_BINARY]      (default build/cli/evmesh)
#   DURATION=10 CONNECTIONS=64 THREADS=2       (environment; seconds per wrk run)
set -euo pipefail

script_dir=$(cd "$(dirname "$0")" && pwd)
bench=http_publish
source "$script_dir/node_lib.sh" "$@"
start_node "$binary"

# --- the two wrk runs ----------------------------------------------------------
echo "node:    $binary at $url (pid $node_pid)"
echo "healthz: wrk ${wrk_args[*]} $url/healthz"
wrk "${wrk_args[@]}" "$url/healthz" >"$work/healthz.txt"
echo "publish: EVMESH_TOKEN=... wrk ${wrk_args[*]} --script $script_dir/publish.lua $url/v1/events"
EVMESH_TOKEN=$token wrk "${wrk_args[@]}" --script "$script_dir/publish.lua" "$url/v1/events" \
  >"$work/publish.txt"

publish_requests=$(requests "$work/publish.txt")
read -r lua_requests non_202 < <(awk '/^publish.lua:/ { print $3, $5 }' "$work/publish.txt") ||
  fail "publish.lua printed no counts; wrk output: $(cat "$work/publish.txt")"
published=$(curl -fsS "$url/metrics" | awk '$1 == "evmesh_events_published_total" { print $2 }')

stop_node

# --- report ----------------------------------------------------------------------
report_runs publish healthz
echo "publish requests (wrk): $publish_requests, answered in publish.lua: $lua_requests, non-202: $non_202"
echo "evmesh_events_published_total: $published"

# wrk counts answered requests; up to one request per connection may still be
# in flight (and stored) when a run ends.
problems=()
[[ $non_202 == 0 ]] || problems+=("$non_202 publish responses were not 202")
(( published >= lua_requests && published <= lua_requests + connections )) ||
  problems+=("published_total $published does not match the $lua_requests answered publishes")
finish
