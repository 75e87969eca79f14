// The subscribing side's bookkeeping (see receive_log.hpp).
#include "receive_log.hpp"

#include <algorithm>
#include <cstdio>

namespace cluster_bench {

namespace {

int64_t seconds_to_ns(double seconds) { return static_cast<int64_t>(seconds * 1e9); }

// The p-th percentile (0..100) in microseconds, as text; "-" with no samples.
std::string percentile_us(std::vector<int64_t> samples, double p) {
  if (samples.empty())
    return "-";
  auto rank = static_cast<std::size_t>(p / 100.0 * static_cast<double>(samples.size() - 1));
  std::nth_element(samples.begin(), samples.begin() + static_cast<std::ptrdiff_t>(rank),
                   samples.end());
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", static_cast<double>(samples[rank]) / 1e3);
  return text;
}

} // namespace

receive_log::receive_log(const options& opt)
  : expected_(opt.paced_events + opt.events),
    ready_timeout_ns_(seconds_to_ns(opt.ready_timeout)),
    idle_timeout_ns_(seconds_to_ns(opt.idle_timeout)),
    created_ns_(clock_ns()) {
  paced_.latencies_ns.reserve(opt.paced_events);
  load_.latencies_ns.reserve(opt.events);
}

std::optional<message_header> receive_log::record(std::string_view payload) {
  auto now = clock_ns();
  auto header = decode_message(payload);
  last_message_ns_.store(now, std::memory_order_relaxed);
  if (!header || (header->kind != message_kind::paced && header->kind != message_kind::load))
    return header;
  {
    std::lock_guard<std::mutex> hold(lock_);
    auto& into = header->kind == message_kind::paced ? paced_ : load_;
    ++into.received;
    into.latencies_ns.push_back(now - header->sent_ns);
    if (header->kind == message_kind::load) {
      load_start_ns_ = header->load_start_ns;
      last_load_ns_ = now;
    }
  }
  received_.fetch_add(1, std::memory_order_release);
  return header;
}

void receive_log::fail(const std::string& why) {
  std::lock_guard<std::mutex> hold(lock_);
  if (failure_.empty())
    failure_ = why;
  failed_ = true;
}

bool receive_log::finished() const {
  if (failed_ || received_.load(std::memory_order_acquire) >= expected_)
    return true;
  auto last = last_message_ns_.load(std::memory_order_relaxed);
  auto now = clock_ns();
  return last == 0 ? now - created_ns_ > ready_timeout_ns_ : now - last > idle_timeout_ns_;
}

int receive_log::report() const {
  std::lock_guard<std::mutex> hold(lock_);
  double load_seconds = load_.received ? static_cast<double>(last_load_ns_ - load_start_ns_) / 1e9 : 0;
  double load_rate = load_seconds > 0 ? static_cast<double>(load_.received) / load_seconds : 0;
  std::string status = "ok";
  if (!failure_.empty())
    status = "failed: " + failure_;
  else if (paced_.received + load_.received == 0)
    status = last_message_ns_ ? "failed: no events received (only probes) before the idle timeout"
                              : "failed: no events received within " +
                                  std::to_string(ready_timeout_ns_ / 1'000'000'000) + " s";
  std::printf("result paced_received=%llu paced_p50_us=%s paced_p99_us=%s load_received=%llu "
              "load_seconds=%.3f load_rate=%.0f load_p50_us=%s load_p99_us=%s status=%s\n",
              static_cast<unsigned long long>(paced_.received),
              percentile_us(paced_.latencies_ns, 50).c_str(),
              percentile_us(paced_.latencies_ns, 99).c_str(),
              static_cast<unsigned long long>(load_.received), load_seconds, load_rate,
              percentile_us(load_.latencies_ns, 50).c_str(),
              percentile_us(load_.latencies_ns, 99).c_str(), status.c_str());
  std::fflush(stdout);
  return status == "ok" ? 0 : 1;
}

} // namespace cluster_bench
