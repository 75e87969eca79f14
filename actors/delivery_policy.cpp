// See delivery_policy.hpp.
#include "actors/delivery_policy.hpp"

#include <algorithm>
#include <charconv>
#include <ctime>
#include <string>

namespace evmesh {

std::vector<double> default_retry_schedule() { return {0, 5, 300, 1800, 7200, 18000, 36000, 36000}; }

retry_schedule::retry_schedule(std::vector<double> seconds) {
  if (seconds.empty())
    seconds = default_retry_schedule();
  for (double s : seconds) {
    delays_us_.push_back(static_cast<int64_t>(std::max(0.0, s) * 1e6));
    max_us_ = std::max(max_us_, delays_us_.back());
  }
}

std::optional<int64_t> retry_schedule::delay_before(std::size_t next, std::mt19937_64& random) const {
  if (next < 2 || next > delays_us_.size())
    return std::nullopt;
  auto base = delays_us_[next - 1];
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  return static_cast<int64_t>(static_cast<double>(base) * jitter(random));
}

std::optional<int64_t> parse_retry_after(std::string_view value, int64_t now_us) {
  while (!value.empty() && value.front() == ' ')
    value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ')
    value.remove_suffix(1);
  if (value.empty())
    return std::nullopt;
  uint64_t seconds = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec == std::errc{} && end == value.data() + value.size())
    return static_cast<int64_t>(std::min<uint64_t>(seconds, uint64_t{1} << 32)) * 1000000;
  std::tm tm{};  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
  std::string text(value);
  auto parsed = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!parsed || *parsed != '\0')
    return std::nullopt;
  auto at_us = static_cast<int64_t>(timegm(&tm)) * 1000000;
  return std::max<int64_t>(0, at_us - now_us);
}

token_bucket::token_bucket(double rate) { set_rate(rate); }

void token_bucket::set_rate(double rate) {
  rate_ = rate > 0 ? rate : 0;
  tokens_ = std::min(tokens_, std::max(1.0, rate_));
  if (last_us_ == 0)
    tokens_ = std::max(1.0, rate_);
}

int64_t token_bucket::take(int64_t now_us) {
  if (rate_ == 0)
    return 0;
  double burst = std::max(1.0, rate_);
  if (last_us_ != 0)
    tokens_ = std::min(burst, tokens_ + static_cast<double>(now_us - last_us_) * rate_ / 1e6);
  last_us_ = now_us;
  if (tokens_ >= 1.0) {
    tokens_ -= 1.0;
    return 0;
  }
  return std::max<int64_t>(1, static_cast<int64_t>((1.0 - tokens_) * 1e6 / rate_));
}

circuit_breaker::circuit_breaker(uint32_t threshold, int64_t base_cooldown_us, int64_t max_cooldown_us)
  : threshold_(std::max<uint32_t>(1, threshold)), base_us_(std::max<int64_t>(1000, base_cooldown_us)),
    max_us_(std::max(base_us_, max_cooldown_us)) {}

bool circuit_breaker::allow(int64_t now_us) {
  if (!open_)
    return true;
  if (probing_ || now_us < reopen_us_)
    return false;
  probing_ = true;  // half-open: this request is the probe
  return true;
}

void circuit_breaker::on_success() {
  failures_ = 0;
  open_ = false;
  probing_ = false;
  cooldown_us_ = 0;
}

void circuit_breaker::on_failure(int64_t now_us) {
  ++failures_;
  if (open_) {
    if (!probing_)
      return;  // a request started before it opened
    probing_ = false;
    cooldown_us_ = std::min(max_us_, cooldown_us_ * 2);
    reopen_us_ = now_us + cooldown_us_;
    return;
  }
  if (failures_ >= threshold_) {
    open_ = true;
    cooldown_us_ = base_us_;
    reopen_us_ = now_us + cooldown_us_;
  }
}

} // namespace evmesh
