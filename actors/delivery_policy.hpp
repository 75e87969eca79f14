// The rules a delivery actor applies, as plain values so they can be unit
// tested without actors or sockets: the retry schedule with ±20 % jitter,
// Retry-After parsing, the token bucket behind `rate_limit`, and the circuit
// breaker that makes a dead endpoint cost one probe per cool-down.
// Times are microseconds since the Unix epoch (or any one clock).
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string_view>
#include <vector>

namespace evmesh {

// The contract's default: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
std::vector<double> default_retry_schedule();

// Attempt n (1-based) happens schedule[n-1] seconds after attempt n-1 failed
// (attempt 1: schedule[0] after the event arrived), each ±20 % jitter; there
// are schedule.size() attempts in all.
class retry_schedule {
public:
  explicit retry_schedule(std::vector<double> seconds);
  std::size_t attempts() const { return delays_us_.size(); }
  // The delay before attempt `next` (2..attempts()), jittered; nullopt when
  // there is no such attempt (retries exhausted).
  std::optional<int64_t> delay_before(std::size_t next, std::mt19937_64& random) const;
  // The longest delay of the schedule (Retry-After is clamped to it).
  int64_t max_delay_us() const { return max_us_; }

private:
  std::vector<int64_t> delays_us_;
  int64_t max_us_ = 0;
};

// A Retry-After value (delay-seconds or an HTTP-date) as a delay from `now`;
// nullopt when it is neither. Dates in the past give 0.
std::optional<int64_t> parse_retry_after(std::string_view value, int64_t now_us);

// Allows `rate` attempts per second on average, bursts up to max(1, rate).
class token_bucket {
public:
  explicit token_bucket(double rate = 0);
  void set_rate(double rate);
  // Takes a token and answers 0, or answers how long until one is there.
  int64_t take(int64_t now_us);

private:
  double rate_ = 0;  // 0: unlimited
  double tokens_ = 0;
  int64_t last_us_ = 0;
};

// Closed: requests flow. After `threshold` consecutive failures it opens for
// a cool-down (doubling on every failed probe, up to max_cooldown); then one
// probe is let through (half-open); its success closes it.
class circuit_breaker {
public:
  circuit_breaker(uint32_t threshold, int64_t base_cooldown_us, int64_t max_cooldown_us);
  // May a request start now? In half-open state only one may (the probe).
  bool allow(int64_t now_us);
  void on_success();
  void on_failure(int64_t now_us);
  bool open() const { return open_; }
  int64_t reopens_at_us() const { return reopen_us_; }

private:
  uint32_t threshold_;
  int64_t base_us_;
  int64_t max_us_;
  uint32_t failures_ = 0;
  bool open_ = false;
  bool probing_ = false;
  int64_t cooldown_us_ = 0;
  int64_t reopen_us_ = 0;
};

} // namespace evmesh
