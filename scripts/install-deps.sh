#!/usr/bin/env bash
# Installs the Debian 12 packages evmesh needs to build, test and benchmark,
# and only those that are missing (safe to run again; runs apt-get update
# only when something has to be installed). Needs root or sudo.
set -euo pipefail

packages=(
  g++ cmake ninja-build ccache pkg-config git   # toolchain
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

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
