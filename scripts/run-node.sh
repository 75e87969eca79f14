#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a running node: installs what
# is missing, builds (Release, ccache, all cores) and starts `evmesh node` in
# the foreground with its data in ./evmesh-data. Extra arguments go to the
# node, e.g. `scripts/run-node.sh --http 127.0.0.1:9090`.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DEVMESH_BUILD_TESTS=OFF -DEVMESH_BUILD_BENCH=OFF -DEVMESH_BUILD_EXAMPLES=OFF >/dev/null
cmake --build build/release --target evmesh -j "$(nproc)"
exec build/release/cli/evmesh node "$@"
