# node_lib.sh: what the single-node HTTP benchmarks (http_publish.sh,
# http_ingest.sh) share, sourced by them: start the real `evmesh` binary on
# 127.0.0.1:0 in a temp dir and wait for its serving line, stop it with
# SIGTERM (it must exit 0), clean up on exit, and read wrk's report.
# The sourcing script sets `bench` (its name, for messages) first and
# passes its arguments; this reads them and the environment:
#   [EVMESH_BINARY] (default build/cli/evmesh), DURATION=10 (seconds per
#   wrk run), CONNECTIONS=64, THREADS=2 → binary and wrk_args; STORE (a
#   postgres:// URL for the node's --store; default its embedded SQLite).

binary=${1:-build/cli/evmesh}
duration=${DURATION:-10}
connections=${CONNECTIONS:-64}
threads=${THREADS:-2}
wrk_args=(--threads "$threads" --connections "$connections" --duration "${duration}s" --latency)

for tool in wrk curl; do
  command -v "$tool" >/dev/null || { echo "$bench: $tool is not installed (apt-get install $tool)" >&2; exit 2; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/evmesh-$bench-XXXXXX")
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
  echo "$bench: $*" >&2
  echo "--- node output:" >&2
  cat "$work/node.log" >&2 || true
  exit 1
}

# start_node BINARY: sets node_pid, url and token (10 s at most).
start_node() {
  [[ -x $1 ]] || { echo "$bench: no evmesh binary at $1 (give its path as the argument)" >&2; exit 2; }
  "$1" node --name bench --data "$work/data" --http 127.0.0.1:0 --cluster 127.0.0.1:0 \
    ${STORE:+--store "$STORE"} >"$work/node.log" 2>&1 &
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
}

# stop_node: SIGTERM, exit within 30 s; sets node_status.
stop_node() {
  kill -TERM "$node_pid"
  for _ in $(seq 300); do
    node_running || break
    sleep 0.1
  done
  node_running && fail "the node did not exit within 30 s of SIGTERM"
  node_status=0
  wait "$node_pid" || node_status=$?
  node_pid=
}

# Fields of wrk's report: requests/s, completed requests, a latency
# percentile, non-2xx answers and socket errors.
rps() { awk '/^Requests\/sec:/ { print $2 }' "$1"; }
requests() { awk '/ requests in / { print $1 }' "$1"; }
percentile() { awk -v p="$2" '$1 == p { print $2 }' "$1"; }
non_2xx() { awk '/Non-2xx or 3xx responses:/ { n = $NF } END { print n + 0 }' "$1"; }
socket_errors() { sed -n 's/^ *Socket errors: //p' "$1"; }

# report_runs RUN BASELINE: the table of both runs and the ratio RUN/BASELINE.
report_runs() {
  echo
  printf '%-30s %12s %10s %10s %8s\n' run requests/s p50 p99 non-2xx
  for run in "$2" "$1"; do
    printf '%-30s %12s %10s %10s %8s\n' "$run" "$(rps "$work/$run.txt")" \
      "$(percentile "$work/$run.txt" 50%)" "$(percentile "$work/$run.txt" 99%)" \
      "$(non_2xx "$work/$run.txt")"
  done
  awk -v p="$(rps "$work/$1.txt")" -v h="$(rps "$work/$2.txt")" -v name="ratio $1/$2" \
    'BEGIN { printf "%-30s %12.3f   (target >= 0.5)\n", name, p / h }'
  for run in "$2" "$1"; do
    errors=$(socket_errors "$work/$run.txt")
    [[ -z $errors ]] || echo "socket errors ($run): $errors"
  done
  echo "node exit status after SIGTERM: $node_status"
}

# finish: with the node's exit status added to the array `problems`, prints
# them and exits 1, or says the checks passed.
finish() {
  [[ $node_status == 0 ]] || problems+=("the node exited with status $node_status")
  if (( ${#problems[@]} )); then
    printf '%s: %s\n' "$bench" "${problems[@]}" >&2
    exit 1
  fi
  echo "checks passed"
}
