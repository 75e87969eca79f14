// The two sides of each system under test; each runs one process's part of a
// pair and returns its exit status. One file per system implements both.
#pragma once

#include "bench_options.hpp"

namespace cluster_bench {

int run_zmq_pull(const options& opt);    // binds PULL on --address, receives
int run_zmq_push(const options& opt);    // connects PUSH to --address, sends
int run_nats_sub(const options& opt);    // subscribes on the server at --address
int run_nats_pub(const options& opt);    // publishes to the server at --address
int run_evmesh_sub(const options& opt);  // node B: cluster --address, join --join, subscribes
int run_evmesh_pub(const options& opt);  // node A: cluster --address, join --join, publishes

} // namespace cluster_bench
