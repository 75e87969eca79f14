// The router tells its watcher (the cluster manager) the set of local
// patterns whenever it changes. A burst of subscriptions must cost a few
// copies of that set, not one growing copy per subscription: 8,000 distinct
// patterns from ordinary clients once queued gigabytes of copies (issue 19).
#include "actors/router.hpp"

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

namespace evmesh {
namespace {

using std::chrono::steady_clock;

struct interest_log {
  int announcements = 0;
  std::size_t patterns = 0;  // in the latest announcement
};

// Reads announcements until one names `want` patterns or 10 s pass.
void read_until(caf::scoped_actor& watcher, interest_log& log, std::size_t want) {
  auto deadline = steady_clock::now() + std::chrono::seconds(10);
  bool expired = false;
  while (!expired && (log.announcements == 0 || log.patterns != want)) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady_clock::now());
    watcher->receive(
      [&](interest_atom, const std::vector<std::string>& patterns) {
        ++log.announcements;
        log.patterns = patterns.size();
      },
      caf::after(std::max(left, std::chrono::milliseconds(0))) >> [&] { expired = true; });
  }
}

TEST(RouterInterest, ABurstOfDistinctPatternsIsAnnouncedAFewTimesNotOncePerPattern) {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  routing_probe probe;
  auto router = spawn_router(sys, probe);
  caf::scoped_actor watcher{sys};
  caf::scoped_actor subscriber{sys};  // gets no events here; the router needs a handle
  caf::anon_send(router, watch_atom::value, caf::actor_cast<caf::actor>(watcher));

  constexpr std::size_t n = 2000;
  for (std::size_t i = 0; i < n; ++i)
    caf::anon_send(router, subscribe_atom::value, subscriber_id{i + 1}, "orders." + std::to_string(i),
                   caf::actor_cast<caf::actor>(subscriber), uint64_t{100});
  interest_log joined;
  read_until(watcher, joined, n);
  EXPECT_EQ(joined.patterns, n);
  EXPECT_LT(joined.announcements, 20) << "one announcement per subscription is the quadratic copy";

  for (std::size_t i = 0; i < n; ++i)
    caf::anon_send(router, unsub_atom::value, subscriber_id{i + 1});
  interest_log left;
  read_until(watcher, left, 0);
  EXPECT_EQ(left.patterns, 0u) << "the watcher must hear that the last pattern went";
  EXPECT_LT(left.announcements, 20);

  caf::anon_send_exit(router, caf::exit_reason::user_shutdown);
}

} // namespace
} // namespace evmesh
