// The delivery rules: schedule and jitter, Retry-After, token bucket,
// circuit breaker.
#include "actors/delivery_policy.hpp"

#include <gtest/gtest.h>

namespace evmesh {
namespace {

constexpr int64_t s = 1000000;

TEST(RetrySchedule, DefaultIsTheContractsWithTwentyPercentJitter) {
  retry_schedule schedule({});
  EXPECT_EQ(schedule.attempts(), 8u);
  EXPECT_EQ(schedule.max_delay_us(), 36000 * s);
  std::mt19937_64 random(42);
  const double expected[] = {5, 300, 1800, 7200, 18000, 36000, 36000};
  for (std::size_t next = 2; next <= 8; ++next)
    for (int i = 0; i < 200; ++i) {
      auto d = schedule.delay_before(next, random);
      ASSERT_TRUE(d);
      EXPECT_GE(*d, static_cast<int64_t>(expected[next - 2] * 0.8 * s));
      EXPECT_LE(*d, static_cast<int64_t>(expected[next - 2] * 1.2 * s));
    }
  EXPECT_FALSE(schedule.delay_before(9, random));
}

TEST(RetrySchedule, JitterSpreadsDelays) {
  retry_schedule schedule({0, 10});
  std::mt19937_64 random(7);
  int64_t low = 100 * s, high = 0;
  for (int i = 0; i < 500; ++i) {
    auto d = *schedule.delay_before(2, random);
    low = std::min(low, d);
    high = std::max(high, d);
  }
  EXPECT_LT(low, 9 * s);
  EXPECT_GT(high, 11 * s);
}

TEST(RetryAfter, SecondsAndHttpDates) {
  EXPECT_EQ(parse_retry_after("2", 0), 2 * s);
  EXPECT_EQ(parse_retry_after(" 0 ", 0), 0);
  auto now = int64_t{784111777} * s;  // Sun, 06 Nov 1994 08:49:37 GMT
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now), 10 * s);
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:27 GMT", now), 0);
  EXPECT_FALSE(parse_retry_after("soon", now));
  EXPECT_FALSE(parse_retry_after("-1", now));
  EXPECT_FALSE(parse_retry_after("", now));
}

TEST(TokenBucket, HoldsTheRate) {
  token_bucket bucket(10);
  int64_t now = 1000 * s;
  int taken = 0;
  // Over 2 simulated seconds, stepping 1 ms: at most burst (10) + 2 s × 10.
  for (int64_t t = now; t < now + 2 * s; t += 1000)
    if (bucket.take(t) == 0)
      ++taken;
  EXPECT_GE(taken, 29);
  EXPECT_LE(taken, 31);
  // Drained: the next token comes after about 1/rate.
  bucket.take(now + 2 * s);
  auto wait = bucket.take(now + 2 * s);
  EXPECT_GT(wait, 0);
  EXPECT_LE(wait, s / 10);
}

TEST(TokenBucket, ZeroIsUnlimited) {
  token_bucket bucket(0);
  for (int i = 0; i < 1000; ++i)
    EXPECT_EQ(bucket.take(5 * s), 0);
}

TEST(CircuitBreaker, OpensAfterThresholdProbesAndCloses) {
  circuit_breaker breaker(3, 1 * s, 8 * s);
  int64_t now = 100 * s;
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(breaker.allow(now));
    breaker.on_failure(now);
  }
  EXPECT_TRUE(breaker.open());
  EXPECT_FALSE(breaker.allow(now + s / 2));
  EXPECT_TRUE(breaker.allow(now + s));       // the probe
  EXPECT_FALSE(breaker.allow(now + s));      // only one
  breaker.on_failure(now + s);               // probe failed: 2 s cool-down
  EXPECT_FALSE(breaker.allow(now + 2 * s));
  EXPECT_TRUE(breaker.allow(now + 3 * s));
  breaker.on_success();
  EXPECT_FALSE(breaker.open());
  EXPECT_TRUE(breaker.allow(now + 3 * s));
  EXPECT_TRUE(breaker.allow(now + 3 * s));
}

TEST(CircuitBreaker, CooldownIsCapped) {
  circuit_breaker breaker(1, 1 * s, 4 * s);
  int64_t now = 0;
  breaker.on_failure(now);
  for (int i = 0; i < 10; ++i) {
    now = breaker.reopens_at_us();
    ASSERT_TRUE(breaker.allow(now));
    breaker.on_failure(now);
    EXPECT_LE(breaker.reopens_at_us() - now, 4 * s);
  }
}

} // namespace
} // namespace evmesh
