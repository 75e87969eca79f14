// Command line of cluster_bench: which side of which system this process is,
// and the schedule both sides of a pair must agree on (payload size, event
// counts, paced rate, timeouts). run.sh passes the same values to both.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace cluster_bench {

struct options {
  std::string role;                 // zmq-push, zmq-pull, nats-pub, nats-sub, evmesh-pub, evmesh-sub
  std::size_t payload_bytes = 100;  // every message, probes included
  uint64_t events = 200'000;        // load phase
  uint64_t paced_events = 2'000;    // latency phase
  double paced_rate = 2'000;        // messages per second in the latency phase
  std::string address;              // zmq: PULL binds, PUSH connects; nats: the server; evmesh: cluster bind
  std::vector<std::string> join;    // evmesh: seeds
  std::string data_dir;             // evmesh: the node's store
  std::size_t window = 8'192;       // evmesh: publishes in flight at most
  double ready_timeout = 30;        // s: probes unanswered / nothing received yet → fail
  double idle_timeout = 10;         // s: nothing more received → the subscriber stops
  double hold_timeout = 120;        // s: a publisher waits this long at most for SIGTERM
};

extern const char* const usage;

// nullopt (with the reason on stderr) when the command line is wrong.
std::optional<options> parse_options(int argc, char** argv);

} // namespace cluster_bench
