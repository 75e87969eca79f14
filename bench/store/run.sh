#!/usr/bin/env bash
# bench/store/run.sh: the durable store on PostgreSQL against the embedded
# SQLite, in one run on this machine, with pgbench's simple-update rate on
# the same PostgreSQL server as the database's own ceiling.
#
#   bench/store/run.sh [BUILD_DIR]     (default build; needs cli/evmesh and
#                                       examples/webhook_receiver built)
#   DURATION=10                         (seconds per wrk / pgbench run)
#
# 1. Starts a throwaway PostgreSQL 15 (initdb in a temp dir, as the
#    `postgres` user when run as root; loopback port, trust auth).
# 2. pgbench -i -s 10, then pgbench -b simple-update -c 16 -j 2 for DURATION.
# 3. Durable publishes/s: bench/http_publish.sh (wrk POST /v1/events against
#    one node) with the node on SQLite, then on PostgreSQL (a fresh database).
# 4. Webhook deliveries/s: bench/webhooks.py --only-throughput, on SQLite,
#    then on PostgreSQL (a fresh database).
# Prints the rates and the ratios PostgreSQL/SQLite and publishes/pgbench.
# Everything on 127.0.0.1; the server is stopped and the dir removed at exit.
set -euo pipefail

build=${1:-build}
duration=${DURATION:-10}
bench_dir=$(cd "$(dirname "$0")/.." && pwd)
pg_bin=${PG_BIN:-/usr/lib/postgresql/15/bin}

for tool in "$pg_bin/initdb" "$pg_bin/pg_ctl" "$pg_bin/pgbench" "$pg_bin/createdb"; do
  [[ -x $tool ]] || { echo "bench/store: $tool is missing (apt-get install postgresql)" >&2; exit 2; }
done
command -v wrk >/dev/null || { echo "bench/store: wrk is missing (apt-get install wrk)" >&2; exit 2; }
[[ -x $build/cli/evmesh ]] || { echo "bench/store: no $build/cli/evmesh (give the build dir)" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/evmesh-store-bench-XXXXXX")
chmod 755 "$work"
as_pg=()
if [[ $(id -u) == 0 ]]; then  # PostgreSQL refuses to run as root
  chown postgres "$work"
  as_pg=(runuser -u postgres --)
fi
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
pg() { "${as_pg[@]}" "$pg_bin/$1" "${@:2}"; }
cleanup() {
  pg pg_ctl -D "$work/pg" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "=== PostgreSQL: initdb and start on 127.0.0.1:$port ($work/pg)"
pg initdb -D "$work/pg" -U evmesh --auth=trust >"$work/initdb.log" 2>&1 ||
  { cat "$work/initdb.log" >&2; exit 1; }
pg pg_ctl -D "$work/pg" -l "$work/pg.log" -w -t 30 \
  -o "-p $port -k $work -c listen_addresses=127.0.0.1" start >/dev/null
url_of() { echo "postgres://evmesh@127.0.0.1:$port/$1"; }
fresh_db() { pg createdb -h 127.0.0.1 -p "$port" -U evmesh "$1"; url_of "$1"; }

echo "=== pgbench simple-update, ${duration} s"
fresh_db pgbench >/dev/null
pg pgbench -h 127.0.0.1 -p "$port" -U evmesh -i -s 10 -q pgbench >/dev/null 2>&1
pgbench_tps=$(pg pgbench -h 127.0.0.1 -p "$port" -U evmesh -b simple-update -c 16 -j 2 -T "$duration" pgbench 2>/dev/null |
  awk '/^tps = / { print $3 }')
echo "pgbench simple-update: $pgbench_tps tps"

publish_rate() {  # store url or empty: requests/s of the publish run
  STORE=$1 DURATION=$duration bash "$bench_dir/http_publish.sh" "$build/cli/evmesh" | tee "$work/publish.out" >&2
  awk '$1 == "publish" { print $2 }' "$work/publish.out"
}
delivery_rate() {  # store url or empty: deliveries/s
  python3 "$bench_dir/webhooks.py" "$build" --only-throughput ${1:+--store "$1"} | tee "$work/webhooks.out" >&2
  awk '/^evmesh -> receiver:/ { print $4 }' "$work/webhooks.out"
}

echo "=== durable publishes, SQLite"
publish_sqlite=$(publish_rate "")
echo "=== durable publishes, PostgreSQL"
publish_pg=$(publish_rate "$(fresh_db publish)")
echo "=== webhook deliveries, SQLite"
deliver_sqlite=$(delivery_rate "")
echo "=== webhook deliveries, PostgreSQL"
deliver_pg=$(delivery_rate "$(fresh_db webhooks)")

echo
printf '%-34s %12s %12s %10s\n' "" SQLite PostgreSQL "PG/SQLite"
awk -v s="$publish_sqlite" -v p="$publish_pg" 'BEGIN { printf "%-34s %12.0f %12.0f %10.3f\n", "durable publishes/s (HTTP, wrk)", s, p, p / s }'
awk -v s="$deliver_sqlite" -v p="$deliver_pg" 'BEGIN { printf "%-34s %12.0f %12.0f %10.3f\n", "webhook deliveries/s", s, p, p / s }'
awk -v t="$pgbench_tps" -v p="$publish_pg" 'BEGIN { printf "%-34s %12s %12.0f   publishes/pgbench %.3f\n", "pgbench simple-update tps", "", t, p / t }'
