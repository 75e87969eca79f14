// The publishing side's schedule (see send_schedule.hpp).
#include "send_schedule.hpp"

#include "bench_message.hpp"
#include "stop_signal.hpp"

#include <chrono>
#include <cstdio>
#include <thread>

namespace cluster_bench {

namespace {

using std::chrono::steady_clock;

constexpr auto probe_interval = std::chrono::milliseconds{20};

void send_paced(publisher_side& side, const options& opt, std::string& buffer) {
  auto start = steady_clock::now();
  auto interval = std::chrono::duration<double>(1.0 / opt.paced_rate);
  for (uint64_t i = 0; i < opt.paced_events; ++i) {
    std::this_thread::sleep_until(
      start + std::chrono::duration_cast<steady_clock::duration>(interval * static_cast<double>(i)));
    encode_message({message_kind::paced, i, clock_ns(), 0}, opt.payload_bytes, buffer);
    side.send(buffer);
  }
}

void send_load(publisher_side& side, const options& opt, std::string& buffer) {
  auto load_start = clock_ns();
  for (uint64_t i = 0; i < opt.events; ++i) {
    encode_message({message_kind::load, i, clock_ns(), load_start}, opt.payload_bytes, buffer);
    side.send(buffer);
  }
}

} // namespace

int run_send_schedule(publisher_side& side, const options& opt) {
  if (!side.wait_until_delivering(opt.ready_timeout)) {
    std::printf("result sent_paced=0 sent_load=0 load_send_seconds=0 status=failed: no events "
                "received: no probe got through to the subscriber within %.0f s\n",
                opt.ready_timeout);
    std::fflush(stdout);
    return 1;
  }
  std::string buffer;
  send_paced(side, opt, buffer);
  auto load_started = clock_ns();
  send_load(side, opt, buffer);
  side.flush();
  std::printf("result sent_paced=%llu sent_load=%llu load_send_seconds=%.3f status=ok\n",
              static_cast<unsigned long long>(opt.paced_events),
              static_cast<unsigned long long>(opt.events),
              static_cast<double>(clock_ns() - load_started) / 1e9);
  std::fflush(stdout);
  wait_for_stop_signal(opt.hold_timeout);
  return 0;
}

bool probe_until_answered(const std::function<void(const std::string&)>& send_probe,
                          const std::atomic<bool>& answered, std::size_t payload_bytes,
                          double timeout_seconds) {
  auto deadline = steady_clock::now() + std::chrono::duration_cast<steady_clock::duration>(
                                          std::chrono::duration<double>(timeout_seconds));
  std::string probe;
  for (uint64_t seq = 0; !answered && steady_clock::now() < deadline; ++seq) {
    encode_message({message_kind::probe, seq, clock_ns(), 0}, payload_bytes, probe);
    send_probe(probe);
    std::this_thread::sleep_for(probe_interval);
  }
  return answered;
}

} // namespace cluster_bench
