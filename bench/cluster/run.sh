#!/usr/bin/env bash
# bench/cluster/run.sh: the cluster benchmark. For each payload size (100 B,
# 1 KiB) it runs three publisher → subscriber pairs of processes on loopback
# and prints one table: raw ZeroMQ PUSH → PULL (the baseline), a two-server
# nats-server cluster (publisher on server 1, subscriber on server 2) and
# evmesh (publisher on node A, subscriber on node B). Each pair sends a paced
# latency phase and then a load phase (see bench/README.md); the table shows
# load throughput, p50/p99 latency of both phases, loss (sent − received) and
# the ratios evmesh/raw-zmq and evmesh/NATS. Ports are picked free at run
# time; nothing waits on a fixed sleep, every wait is bounded.
#
#   bench/cluster/run.sh [BUILD_DIR]    (default build/; configured and built if needed)
#   SYSTEMS="zmq nats evmesh" PAYLOADS="100 1024" EVENTS_100=200000 EVENTS_1024=100000
#   PACED_EVENTS=2000 PACED_RATE=2000 WINDOW=8192 READY_TIMEOUT=30 IDLE_TIMEOUT=10
#
# Exit status 1 if any pair failed (its row says why), 2 if something is missing.
set -euo pipefail

script_dir=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$script_dir/../.." && pwd)
build=${1:-$repo/build}
systems=${SYSTEMS:-zmq nats evmesh}
payloads=${PAYLOADS:-100 1024}
paced_events=${PACED_EVENTS:-2000}
paced_rate=${PACED_RATE:-2000}
window=${WINDOW:-8192}
ready_timeout=${READY_TIMEOUT:-30}
idle_timeout=${IDLE_TIMEOUT:-10}
pair_timeout=600  # s; a subscriber still running after this is killed

command -v nats-server >/dev/null ||
  { echo "cluster bench: nats-server is not installed (bash scripts/install-deps.sh)" >&2; exit 2; }
if [[ ! -f $build/build.ninja && ! -f $build/Makefile ]]; then
  cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$build" -j2 --target cluster_bench >/dev/null ||
  { echo "cluster bench: building cluster_bench in $build failed" >&2; exit 2; }
bin=$build/bench/cluster/cluster_bench

work=$(mktemp -d "${TMPDIR:-/tmp}/evmesh-cluster-bench-XXXXXX")
started=()  # pids of everything this script started
# True while PID runs (an exited child stays a zombie until waited for).
running() {
  local state
  state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) && [[ -n $state && $state != Z ]]
}
cleanup() {
  for pid in "${started[@]}"; do
    running "$pid" && stop "$pid" 5
  done
  rm -rf "$work"
}
trap cleanup EXIT

# wait_for_line FILE REGEX PID SECONDS: true once FILE has a line matching
# REGEX; false if PID exits first or the time runs out.
wait_for_line() {
  local deadline=$((SECONDS + $4))
  until grep -qE "$2" "$1" 2>/dev/null; do
    running "$3" && ((SECONDS < deadline)) || return 1
    sleep 0.05
  done
}

# stop PID SECONDS: SIGTERM, then SIGKILL if it is still there after SECONDS.
stop() {
  kill -TERM "$1" 2>/dev/null || true
  local deadline=$((SECONDS + $2))
  while running "$1" && ((SECONDS < deadline)); do sleep 0.05; done
  running "$1" && kill -KILL "$1" 2>/dev/null || true
}

# field FILE KEY: KEY's value on FILE's result line; status: the rest of it.
field() { sed -n "s/^result.* $2=\([^ ]*\).*/\1/p" "$1" | tail -1; }
status_of() { sed -n 's/^result.* status=\(failed: \)\{0,1\}//p' "$1" | tail -1; }

# --- the NATS cluster: two servers, routes to each other, on loopback ---------
start_nats_cluster() {
  read -r nats_client_1 nats_client_2 nats_route_1 nats_route_2 < <("$bin" free-ports 4)
  local i client route other
  for i in 1 2; do
    client=nats_client_$i route=nats_route_$i other=nats_route_$((3 - i))
    nats-server -a 127.0.0.1 -p "${!client}" -n "bench-$i" --cluster_name evmesh-bench \
      --cluster "nats://127.0.0.1:${!route}" --routes "nats://127.0.0.1:${!other}" \
      >"$work/nats-$i.log" 2>&1 &
    started+=($!)
    wait_for_line "$work/nats-$i.log" 'Server is ready' $! 10 || {
      echo "cluster bench: nats-server $i did not start:" >&2
      cat "$work/nats-$i.log" >&2
      exit 1
    }
  done
}

# --- one pair ------------------------------------------------------------------
# run_pair KEY SUBSCRIBER-ARGS... -- PUBLISHER-ARGS...: runs the subscriber,
# waits for its "ready", runs the publisher, waits for the subscriber to
# finish, stops the publisher. Logs: $work/KEY.sub, $work/KEY.pub.
run_pair() {
  local key=$1 sub_args=() pub_args=()
  shift
  while [[ $1 != -- ]]; do sub_args+=("$1"); shift; done
  shift
  pub_args=("$@")
  local sub_log=$work/$key.sub pub_log=$work/$key.pub sub pub
  : >"$pub_log"
  "$bin" "${sub_args[@]}" "${common[@]}" >"$sub_log" 2>&1 &
  sub=$!
  started+=("$sub")
  if ! wait_for_line "$sub_log" '^ready$' "$sub" "$ready_timeout"; then
    stop "$sub" 5
    echo "result status=failed: the subscriber did not get ready: $(tr '\n' ' ' <"$sub_log")" >>"$sub_log"
    return
  fi
  "$bin" "${pub_args[@]}" "${common[@]}" >"$pub_log" 2>&1 &
  pub=$!
  started+=("$pub")
  local deadline=$((SECONDS + pair_timeout))
  while running "$sub" && ((SECONDS < deadline)); do sleep 0.05; done
  if running "$sub"; then
    stop "$sub" 5
    echo "result status=failed: the subscriber was still running after $pair_timeout s" >>"$sub_log"
  fi
  stop "$pub" 30
}

# --- the table -------------------------------------------------------------------
declare -A label=([zmq]="raw zmq PUSH/PULL" [nats]="NATS 2-server" [evmesh]="evmesh 2-node")
failed=0

# row SYSTEM SIZE EVENTS: one table line from the pair's logs; sets rate[SYSTEM].
declare -A rate
row() {
  local sub_log=$work/$1-$2.sub pub_log=$work/$1-$2.pub
  local sent received sub_status pub_status
  sent=$(($(field "$pub_log" sent_paced || true) + $(field "$pub_log" sent_load || true) + 0))
  received=$(($(field "$sub_log" paced_received || true) + $(field "$sub_log" load_received || true) + 0))
  sub_status=$(status_of "$sub_log")
  pub_status=$(status_of "$pub_log")
  rate[$1]=$(field "$sub_log" load_rate)
  [[ $(field "$sub_log" load_received) == 0 ]] && rate[$1]=
  printf '%-7s %-18s %8s %8s %6s %11s %9s %9s %9s %9s' "$2" "${label[$1]}" "$sent" "$received" \
    "$((sent - received))" "${rate[$1]:--}" "$(field "$sub_log" load_p50_us)" \
    "$(field "$sub_log" load_p99_us)" "$(field "$sub_log" paced_p50_us)" "$(field "$sub_log" paced_p99_us)"
  if [[ $sub_status != ok || $pub_status != ok ]]; then
    failed=1
    rate[$1]=
    printf '  FAILED: subscriber: %s; publisher: %s' "${sub_status:-no result line}" "${pub_status:-no result line}"
    echo
    sed 's/^/        | /' "$sub_log" "$pub_log" | grep -vE '^        \| (result |ready$)' || true
  else
    echo
  fi
}

ratio() { [[ -n ${rate[$1]:-} && -n ${rate[$2]:-} ]] && awk -v a="${rate[$1]}" -v b="${rate[$2]}" 'BEGIN { printf "%.3f", a / b }' || echo -; }

[[ " $systems " == *" nats "* ]] && start_nats_cluster
echo "cluster bench: $(nproc) cores, load average at start $(cut -d' ' -f1-3 /proc/loadavg)"
echo "paced phase: $paced_events messages at $paced_rate/s; load phase: as fast as each system takes them"
echo "latencies: publish → receive in µs (same host clock); load msg/s = received / (first send .. last receive)"
printf '%-7s %-18s %8s %8s %6s %11s %9s %9s %9s %9s\n' payload system sent received loss "load msg/s" \
  "load p50" "load p99" "paced p50" "paced p99"
for size in $payloads; do
  events_var=EVENTS_$size
  events=${!events_var:-$([[ $size -le 100 ]] && echo 200000 || echo 100000)}
  common=(--payload "$size" --events "$events" --paced-events "$paced_events"
          --paced-rate "$paced_rate" --window "$window" --ready-timeout "$ready_timeout"
          --idle-timeout "$idle_timeout")
  rate=()
  for system in $systems; do
    case $system in
      zmq)
        read -r port < <("$bin" free-ports 1)
        run_pair "zmq-$size" zmq-pull --address "127.0.0.1:$port" -- zmq-push --address "127.0.0.1:$port" ;;
      nats)
        run_pair "nats-$size" nats-sub --address "127.0.0.1:$nats_client_2" \
          -- nats-pub --address "127.0.0.1:$nats_client_1" ;;
      evmesh)
        read -r node_a node_b < <("$bin" free-ports 2)
        run_pair "evmesh-$size" \
          evmesh-sub --address "127.0.0.1:$node_b" --join "127.0.0.1:$node_a" --data "$work/evmesh-$size-b" \
          -- evmesh-pub --address "127.0.0.1:$node_a" --join "127.0.0.1:$node_b" --data "$work/evmesh-$size-a" ;;
      *) echo "cluster bench: unknown system '$system' in SYSTEMS" >&2; exit 2 ;;
    esac
    row "$system" "$size"
  done
  if [[ " $systems " == *" evmesh "* ]]; then
    echo "        $size B: evmesh/raw-zmq = $(ratio evmesh zmq) (target ≥ 0.8), evmesh/NATS = $(ratio evmesh nats) (target > 1, aim 1.5)"
  fi
done
echo "cluster bench: load average at end $(cut -d' ' -f1-3 /proc/loadavg)"
exit $failed
