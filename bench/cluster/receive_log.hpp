// The subscribing side's bookkeeping, the same for every system: counts the
// paced and load messages that arrive, their publish → receive latencies and
// the load phase's span (its first send, carried in each message, to the last
// receive), decides when to stop (all expected in, nothing for idle_timeout,
// or nothing at all for ready_timeout) and prints the "result ..." line that
// run.sh reads.
#pragma once

#include "bench_message.hpp"
#include "bench_options.hpp"

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cluster_bench {

class receive_log {
public:
  explicit receive_log(const options& opt);

  // Records one received payload (from any thread). Returns its header so the
  // caller can answer probes; nullopt if it is not a bench message.
  std::optional<message_header> record(std::string_view payload);

  // Ends the run as failed (e.g. the system dropped the subscriber).
  void fail(const std::string& why);

  // True once every expected message is in, the run failed, or a timeout
  // passed. Cheap; meant to be polled.
  bool finished() const;

  // Prints the result line to stdout; returns the exit status (1 if failed
  // or nothing at all was received).
  int report() const;

private:
  struct phase {
    uint64_t received = 0;
    std::vector<int64_t> latencies_ns;
  };

  const uint64_t expected_;
  const int64_t ready_timeout_ns_;
  const int64_t idle_timeout_ns_;
  const int64_t created_ns_;
  std::atomic<uint64_t> received_{0};      // paced + load, for finished()
  std::atomic<int64_t> last_message_ns_{0};  // any kind, probes too; 0: none yet

  mutable std::mutex lock_;
  phase paced_;
  phase load_;
  int64_t load_start_ns_ = 0;
  int64_t last_load_ns_ = 0;
  std::string failure_;
  std::atomic<bool> failed_{false};
};

} // namespace cluster_bench
