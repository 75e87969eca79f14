// The publishing side's schedule, the same for every system: wait until
// messages get through to the subscriber (probes), send the paced latency
// phase at a fixed rate, then the load phase as fast as the system takes
// it, flush, print the "result ..." line and hold until SIGTERM. Each system
// supplies a publisher_side that knows how to send on it.
#pragma once

#include "bench_options.hpp"

#include <atomic>
#include <functional>
#include <string>

namespace cluster_bench {

class publisher_side {
public:
  virtual ~publisher_side() = default;
  // True once a message sent now reaches the subscriber; false after
  // `timeout_seconds` without that.
  virtual bool wait_until_delivering(double timeout_seconds) = 0;
  virtual void send(const std::string& payload) = 0;
  // Returns once everything sent has left this publisher's hands (flushed
  // to the server, acknowledged by the node).
  virtual void flush() = 0;
};

// Runs the schedule on `side`; returns the process exit status.
int run_send_schedule(publisher_side& side, const options& opt);

// For systems with a way back: sends a probe every 20 ms until `answered`
// becomes true (the subscriber saw a probe and replied) or the timeout passes.
bool probe_until_answered(const std::function<void(const std::string&)>& send_probe,
                          const std::atomic<bool>& answered, std::size_t payload_bytes,
                          double timeout_seconds);

} // namespace cluster_bench
