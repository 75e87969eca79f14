#!/usr/bin/env bash
# WebSocket fan-out benchmark: evmesh against a Node `ws` broadcast server,
# the same C++ load generator (fanout_loadgen: CLIENTS subscribers in PROCS
# processes, one publisher) against each, one after the other in one run.
# Prints each server's RESULT line, then the ratios and RSS per idle
# connection. See bench/README.md.
#
#   bench/fanout/run.sh BUILD_DIR
#   CLIENTS=10000 PROCS=4 EVENTS=300 WINDOW=64 RATE=2 LATENCY_SECONDS=5 bench/fanout/run.sh build
#
# Needs node and Debian's node-ws (bash scripts/install-deps.sh). Everything
# stays on 127.0.0.1; servers are stopped and the temp dir removed on exit.
set -euo pipefail

build=${1:?usage: bench/fanout/run.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
evmesh=$build/cli/evmesh
loadgen=$build/bench/fanout_loadgen
clients=${CLIENTS:-10000}
procs=${PROCS:-4}
events=${EVENTS:-300}
window=${WINDOW:-64}
rate=${RATE:-2}
seconds=${LATENCY_SECONDS:-5}  # (bash reserves SECONDS)
for f in "$evmesh" "$loadgen"; do
  [[ -x $f ]] || { echo "missing $f: cmake --build $build --target evmesh fanout_loadgen" >&2; exit 1; }
done
command -v node >/dev/null || { echo "node is not installed (bash scripts/install-deps.sh)" >&2; exit 1; }
[[ -d /usr/share/nodejs/ws ]] || { echo "node-ws is not installed (bash scripts/install-deps.sh)" >&2; exit 1; }

# 10 000 subscribers: the servers need one descriptor each, the generator's
# processes their share.
want_fds=$((clients + 1000))
[[ $(ulimit -Hn) -ge $want_fds ]] || { echo "hard descriptor limit $(ulimit -Hn) < $want_fds" >&2; exit 1; }
ulimit -n "$want_fds"

tmp=$(mktemp -d)
server_pid=
cleanup() {
  [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

# Waits (at most 30 s) until $2 shows a line matching $3; prints the match.
wait_for_line() {  # pid file pattern
  for _ in $(seq 300); do
    if grep -Eo "$3" "$2" 2>/dev/null | head -1; then return 0; fi
    kill -0 "$1" 2>/dev/null || { cat "$2" >&2; return 1; }
    sleep 0.1
  done
  cat "$2" >&2
  return 1
}

run_loadgen() {  # name port path
  "$loadgen" --name "$1" --port "$2" --path "$3" --clients "$clients" --procs "$procs" \
    --events "$events" --window "$window" --rate "$rate" --seconds "$seconds" \
    --server-pid "$server_pid" | tee -a "$tmp/results"
}

echo "== evmesh ($(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo '?'))"
"$evmesh" node --data "$tmp/data" --http 127.0.0.1:0 --cluster 127.0.0.1:0 >"$tmp/evmesh.log" 2>&1 &
server_pid=$!
port=$(wait_for_line "$server_pid" "$tmp/evmesh.log" 'serving http://127\.0\.0\.1:[0-9]+' | grep -Eo '[0-9]+$')
run_loadgen evmesh "$port" "/v1/ws?token=$(cat "$tmp/data/admin.token")"
kill -TERM "$server_pid"; wait "$server_pid" || true; server_pid=

echo "== node-ws baseline ($(node --version), ws $(node -p "require('/usr/share/nodejs/ws/package.json').version"))"
NODE_PATH=/usr/share/nodejs node "$here/node_ws_server.js" 0 >"$tmp/node.log" 2>&1 &
server_pid=$!
port=$(wait_for_line "$server_pid" "$tmp/node.log" 'serving ws://127\.0\.0\.1:[0-9]+' | grep -Eo '[0-9]+$')
run_loadgen node-ws "$port" "/"
kill -TERM "$server_pid"; wait "$server_pid" || true; server_pid=

# The two RESULT lines side by side, and the ratios the targets are about.
awk '
  /^RESULT/ {
    for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    name = v["name"]
    for (k in v) r[name, k] = v[k]
  }
  END {
    printf "\n%-10s %12s %10s %10s %16s %14s %10s\n", "server", "delivered/s", "p50 ms", "p99 ms", "RSS/idle conn B", "server CPU s", "complete"
    for (j = 1; j <= 2; j++) {
      n = (j == 1) ? "evmesh" : "node-ws"
      printf "%-10s %12d %10.1f %10.1f %16d %14.2f %10s\n", n, r[n, "rate"], r[n, "p50_us"] / 1000, r[n, "p99_us"] / 1000,
        r[n, "rss_per_conn_bytes"], r[n, "server_cpu_s"], (r[n, "delivered"] == r[n, "expected"]) ? "yes" : "NO"
    }
    printf "\ndelivered rate evmesh / node-ws: %.2f (target >= 2)\n", r["evmesh", "rate"] / r["node-ws", "rate"]
    printf "RSS per idle connection, evmesh: %.1f KiB (target <= 10)\n", r["evmesh", "rss_per_conn_bytes"] / 1024
  }' "$tmp/results"
