#!/usr/bin/env bash
# Installs the Debian 12 packages evmesh needs to build, test and benchmark,
# and only those that are missing (safe to run again; runs apt-get update
# only when something has to be installed). Needs root or sudo.
set -euo pipefail

packages=(
  g++ cmake ninja-build ccache pkg-config git   # toolchain
  lld                                           # fast linker (links ~4x faster than ld.bfd)
  python3                                       # scripts/check-layers.py, bench/webhooks.py
  libcaf-dev                                    # actors (CAF 0.17)
  libzmq3-dev cppzmq-dev                        # cluster transport
  libmsgpack-cxx-dev                            # wire format
  libboost-dev libssl-dev                       # Beast HTTP, TLS, hashing
  openssl ca-certificates                       # trust store for webhooks; test certificates
  libsqlite3-dev sqlite3                        # embedded durable store
  libpq-dev                                     # PostgreSQL store (libpq)
  postgresql                                    # PostgreSQL server for the `postgres` tests and bench
  nlohmann-json3-dev                            # JSON
  libgtest-dev libgmock-dev libbenchmark-dev    # tests and micro-benchmarks
  curl wrk                                      # smoke checks and HTTP benchmarks
  nats-server libnats-dev                       # cluster benchmark baseline (NATS)
  nodejs node-ws                                # WebSocket baseline and independent verifiers
  chromium                                      # browser test of the /ui/ page
)

# npm installs the test senders below; Debian ships it as its own package,
# other nodejs builds (NodeSource) bring it along.
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
else
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "install-deps: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The ingest tests' independent Standard Webhooks sender (the reference
# `standardwebhooks` npm package), pinned by package-lock.json; `npm ci`
# runs only when node_modules is missing or older than the lock file.
js="$(cd "$(dirname "$0")/.." && pwd)/tests/support/js"
if [ ! -f "$js/node_modules/.package-lock.json" ] || [ "$js/package-lock.json" -nt "$js/node_modules/.package-lock.json" ]; then
  echo "install-deps: npm ci in tests/support/js"
  (cd "$js" && npm ci --no-audit --no-fund)
else
  echo "install-deps: tests/support/js is up to date"
fi
