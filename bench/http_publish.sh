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
#   bench/http_publish.sh [EVMESH_BINARY]      (default build/node/evmesh)
#   DURATION=10 CONNECTIONS=64 THREADS=2       (environment; seconds per wrk run)
set -euo pipefail

binary=${1:-build/node/evmesh}
duration=${DURATION:-10}
connections=${CONNECTIONS:-64}
threads=${THREADS:-2}
script_dir=$(cd "$(dirname "$0")" && pwd)

for tool in wrk curl; do
  command -v "$tool" >/dev/null || { echo "http_publish: $tool is not installed (apt-get install $tool)" >&2; exit 2; }
done
[[ -x $binary ]] || { echo "http_publish: no evmesh binary at $binary (give its path as the argument)" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/evmesh-http-bench-XXXXXX")
node_pid=
# True while the node runs (an exited child stays a zombie until waited for,
# and kill -0 succeeds on zombies).
node_running() { [[ -r /proc/$node_pid/stat ]] && [[ $(awk '{ print $3 }' "/proc/$node_pid/stat") != Z ]]; }
cleanup() {
  if [[ -n $node_pid ]] && node_running; then
    kill -KILL "$node_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "http_publish: $*" >&2
  echo "--- node output:" >&2
  cat "$work/node.log" >&2 || true
  exit 1
}

# --- start the node and wait (10 s at most) for its "serving" line -----------
"$binary" node --name bench --data "$work/data" --http 127.0.0.1:0 --cluster 127.0.0.1:0 \
  >"$work/node.log" 2>&1 &
node_pid=$!
url=
for _ in $(seq 100); do
  url=$(sed -n 's|^evmesh: node .* serving \(http://[^ ]*\) .*|\1|p' "$work/node.log")
  [[ -n $url ]] && break
  node_running || fail "the node exited before serving"
  sleep 0.1
done
[[ -n $url ]] || fail "the node did not print its serving line within 10 s"
token=$(<"$work/data/admin.token")

# --- the two wrk runs ----------------------------------------------------------
wrk_args=(--threads "$threads" --connections "$connections" --duration "${duration}s" --latency)
echo "node:    $binary at $url (pid $node_pid)"
echo "healthz: wrk ${wrk_args[*]} $url/healthz"
wrk "${wrk_args[@]}" "$url/healthz" >"$work/healthz.txt"
echo "publish: EVMESH_TOKEN=... wrk ${wrk_args[*]} --script $script_dir/publish.lua $url/v1/events"
EVMESH_TOKEN=$token wrk "${wrk_args[@]}" --script "$script_dir/publish.lua" "$url/v1/events" \
  >"$work/publish.txt"

# Fields of wrk's report: requests/s, completed requests, a latency
# percentile, non-2xx answers and socket errors.
rps() { awk '/^Requests\/sec:/ { print $2 }' "$1"; }
requests() { awk '/ requests in / { print $1 }' "$1"; }
percentile() { awk -v p="$2" '$1 == p { print $2 }' "$1"; }
non_2xx() { awk '/Non-2xx or 3xx responses:/ { n = $NF } END { print n + 0 }' "$1"; }
socket_errors() { sed -n 's/^ *Socket errors: //p' "$1"; }

healthz_rps=$(rps "$work/healthz.txt")
publish_rps=$(rps "$work/publish.txt")
publish_requests=$(requests "$work/publish.txt")
read -r lua_requests non_202 < <(awk '/^publish.lua:/ { print $3, $5 }' "$work/publish.txt") ||
  fail "publish.lua printed no counts; wrk output: $(cat "$work/publish.txt")"
published=$(curl -fsS "$url/metrics" | awk '$1 == "evmesh_events_published_total" { print $2 }')

# --- stop the node: SIGTERM, exit 0 within 30 s ------------------------------
kill -TERM "$node_pid"
for _ in $(seq 300); do
  node_running || break
  sleep 0.1
done
node_running && fail "the node did not exit within 30 s of SIGTERM"
node_status=0
wait "$node_pid" || node_status=$?
node_pid=

# --- report ----------------------------------------------------------------------
echo
printf '%-30s %12s %10s %10s %8s\n' run requests/s p50 p99 non-2xx
for run in healthz publish; do
  printf '%-30s %12s %10s %10s %8s\n' "$run" "$(rps "$work/$run.txt")" \
    "$(percentile "$work/$run.txt" 50%)" "$(percentile "$work/$run.txt" 99%)" \
    "$(non_2xx "$work/$run.txt")"
done
awk -v p="$publish_rps" -v h="$healthz_rps" \
  'BEGIN { printf "%-30s %12.3f   (target >= 0.5)\n", "ratio publish/healthz", p / h }'
echo "publish requests (wrk): $publish_requests, answered in publish.lua: $lua_requests, non-202: $non_202"
echo "evmesh_events_published_total: $published"
for run in healthz publish; do
  errors=$(socket_errors "$work/$run.txt")
  [[ -z $errors ]] || echo "socket errors ($run): $errors"
done
echo "node exit status after SIGTERM: $node_status"

# wrk counts answered requests; up to one request per connection may still be
# in flight (and stored) when a run ends.
problems=()
[[ $non_202 == 0 ]] || problems+=("$non_202 publish responses were not 202")
(( published >= lua_requests && published <= lua_requests + connections )) ||
  problems+=("published_total $published does not match the $lua_requests answered publishes")
[[ $node_status == 0 ]] || problems+=("the node exited with status $node_status")
if (( ${#problems[@]} )); then
  printf 'http_publish: %s\n' "${problems[@]}" >&2
  exit 1
fi
echo "checks passed"
