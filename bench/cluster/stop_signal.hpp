// A publisher keeps its side up (its ZeroMQ socket, NATS connection or evmesh
// node, which must go on forwarding to the other node) until run.sh has seen
// the subscriber finish and sends SIGTERM. SIGTERM and SIGINT are blocked in
// every thread (block first, before any thread starts) and taken with
// sigtimedwait, so no handler runs inside libraries.
#pragma once

namespace cluster_bench {

// Blocks SIGTERM and SIGINT for this thread and every thread it starts later.
void block_stop_signals();

// Returns when SIGTERM or SIGINT arrives, or after `timeout_seconds`.
void wait_for_stop_signal(double timeout_seconds);

} // namespace cluster_bench
