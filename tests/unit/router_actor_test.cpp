// The router actor on its own, with scoped actors standing in for
// subscribers and for the webhook feed: an event reaches exactly the
// subscribers whose pattern matches (`*` one token, `>` one or more), once
// per subscriber however many of its patterns match; nothing after
// unsubscribe; a subscriber that does not acknowledge is dropped with a
// reason at its queue limit; registry events reach no subscriber; webhook
// endpoints get per routed batch exactly their events. Absence is checked
// without waiting for time to pass: every subscriber also listens to a
// "fence" topic routed last, and the router keeps each receiver's order, so
// whatever arrives before the fence is everything the earlier routes sent.
#include "support/actor_harness.hpp"

#include "actors/router.hpp"

#include <gtest/gtest.h>

namespace evmesh {
namespace {

using test::reply_timeout;

constexpr subscriber_id fence_offset = 1000;  // each subscriber's fence subscription: id + this

struct RouterActor : ::testing::Test {
  routing_probe probe;
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys = std::make_unique<caf::actor_system>(test::node_like(cfg));
  router_actor router = spawn_router(*sys, probe);
  uint64_t next_seq = 1;

  ~RouterActor() override {
    caf::anon_send_exit(router, caf::exit_reason::user_shutdown);
    router = nullptr;
    sys.reset();
  }

  // Subscribes `sub` as `id` to `pattern`, and as id + fence_offset to "fence".
  void subscribe(caf::scoped_actor& sub, subscriber_id id, const std::string& pattern,
                 uint64_t queue_limit = 1000) {
    caf::anon_send(router, subscribe_atom::value, id, pattern, caf::actor{sub}, queue_limit);
    caf::anon_send(router, subscribe_atom::value, id + fence_offset, std::string("fence"), caf::actor{sub},
                   uint64_t{1000});
  }

  event_ptr make(const std::string& topic) {
    auto e = std::make_shared<event>();
    e->id = "e" + std::to_string(next_seq);
    e->topic = topic;
    e->seq = next_seq++;
    return e;
  }

  void route(const std::vector<std::string>& topics) {
    std::vector<event_ptr> events;
    for (const auto& t : topics)
      events.push_back(make(t));
    caf::anon_send(router, route_atom::value, std::move(events));
  }

  // What `sub` received before the fence, one inner vector per delivered
  // batch, and any overflow reason; ADD_FAILUREs when the fence never comes.
  struct seen {
    std::vector<std::vector<std::string>> batches;
    std::string overflow;
  };
  seen until_fence(caf::scoped_actor& sub) {
    seen out;
    for (int i = 0; i < 100; ++i) {  // at most this many messages before the fence
      bool fence = false, timeout = false;
      sub->receive(
        [&](deliver_atom, const std::vector<event_ptr>& events) {
          std::vector<std::string> topics;
          for (const auto& e : events) {
            if (e->topic == "fence")
              fence = true;
            else
              topics.push_back(e->topic);
          }
          if (!topics.empty())
            out.batches.push_back(std::move(topics));
        },
        [&](overflow_atom, const std::string& reason) { out.overflow = reason; },
        caf::after(reply_timeout) >> [&] { timeout = true; });
      if (fence)
        return out;
      if (timeout)
        break;
    }
    ADD_FAILURE() << "the fence event never arrived";
    return out;
  }

  std::vector<std::string> all_topics(const seen& s) {
    std::vector<std::string> out;
    for (const auto& b : s.batches)
      out.insert(out.end(), b.begin(), b.end());
    return out;
  }
};

using topics = std::vector<std::string>;

TEST_F(RouterActor, AnEventReachesExactlyTheSubscribersWhosePatternMatches) {
  caf::scoped_actor star{*sys}, tail{*sys}, exact{*sys}, other{*sys}, both{*sys};
  subscribe(star, 1, "orders.*");
  subscribe(tail, 2, "orders.>");
  subscribe(exact, 3, "orders.eu.created");
  subscribe(other, 4, "payments.>");
  subscribe(both, 5, "orders.*");
  caf::anon_send(router, subscribe_atom::value, subscriber_id{5}, std::string("orders.>"), caf::actor{both},
                 uint64_t{1000});
  route({"orders.created", "orders.eu.created", "payments", "orders", "shipping.created"});
  route({"fence"});

  auto s = until_fence(star);
  ASSERT_EQ(s.batches.size(), 1u) << "one message per subscriber per routed batch";
  EXPECT_EQ(s.batches[0], (topics{"orders.created"})) << "* is exactly one token";
  EXPECT_EQ(all_topics(until_fence(tail)), (topics{"orders.created", "orders.eu.created"}))
    << "> is one or more tokens, in log order";
  EXPECT_EQ(all_topics(until_fence(exact)), (topics{"orders.eu.created"}));
  EXPECT_EQ(all_topics(until_fence(other)), topics{}) << "payments.> needs a token after payments";
  EXPECT_EQ(all_topics(until_fence(both)), (topics{"orders.created", "orders.eu.created"}))
    << "two matching patterns of one subscriber deliver the event once";
}

TEST_F(RouterActor, NothingReachesASubscriberAfterItUnsubscribed) {
  caf::scoped_actor gone{*sys}, stays{*sys};
  subscribe(gone, 1, "orders.>");
  subscribe(stays, 2, "orders.>");
  route({"orders.a"});
  caf::anon_send(router, unsub_atom::value, subscriber_id{1});
  route({"orders.b"});
  route({"fence"});
  EXPECT_EQ(all_topics(until_fence(gone)), (topics{"orders.a"}));
  EXPECT_EQ(all_topics(until_fence(stays)), (topics{"orders.a", "orders.b"}));
}

TEST_F(RouterActor, ASubscriberThatDoesNotAcknowledgeIsDroppedAtItsQueueLimit) {
  caf::scoped_actor slow{*sys}, acking{*sys};
  subscribe(slow, 1, "orders.>", 2);
  subscribe(acking, 2, "orders.>", 2);
  route({"orders.a", "orders.b"});  // both at their limit now
  caf::anon_send(router, consumed_atom::value, subscriber_id{2}, uint64_t{2});
  route({"orders.c"});  // over the limit for the one that did not acknowledge
  route({"orders.d"});
  route({"fence"});

  auto s = until_fence(slow);
  EXPECT_EQ(all_topics(s), (topics{"orders.a", "orders.b"}));
  EXPECT_NE(s.overflow.find("queue limit of 2"), std::string::npos) << "told why: " << s.overflow;
  EXPECT_EQ(probe.subscribers_dropped.load(), 1u);
  auto a = until_fence(acking);
  EXPECT_EQ(all_topics(a), (topics{"orders.a", "orders.b", "orders.c", "orders.d"}));
  EXPECT_EQ(a.overflow, "");
}

TEST_F(RouterActor, RegistryEventsReachNoSubscriber) {
  caf::scoped_actor everything{*sys};
  subscribe(everything, 1, ">");
  route({"evmesh.registry.token", "orders.a"});
  route({"fence"});
  EXPECT_EQ(all_topics(until_fence(everything)), (topics{"orders.a"}));
}

TEST_F(RouterActor, AWebhookEndpointGetsExactlyItsEventsPerRoutedBatch) {
  caf::scoped_actor feed{*sys};
  auto feed_handle = caf::actor_cast<webhook_feed_actor>(caf::actor{feed});
  caf::anon_send(router, ep_route_atom::value, uint64_t{7}, std::vector<std::string>{"orders.*"}, feed_handle);
  caf::anon_send(router, ep_route_atom::value, uint64_t{8}, std::vector<std::string>{"payments.>"}, feed_handle);
  route({"orders.a", "shipping.x", "payments.eu.settled", "orders.eu.b"});  // seqs 1..4

  webhook_batch got;
  bool arrived = false;
  feed->receive([&](deliver_atom, webhook_batch& b) {
                  got = std::move(b);
                  arrived = true;
                },
                caf::after(reply_timeout) >> [] {});
  ASSERT_TRUE(arrived) << "the feed got the routed batch";
  EXPECT_EQ(got.routed_upto, 4u) << "the highest seq routed, matched or not";
  std::map<uint64_t, topics> by_endpoint;
  for (const auto& part : got.endpoints)
    for (const auto& e : part.events)
      by_endpoint[part.endpoint].push_back(e->topic);
  EXPECT_EQ(by_endpoint, (std::map<uint64_t, topics>{{7, {"orders.a"}}, {8, {"payments.eu.settled"}}}));

  // No patterns: the endpoint gets nothing more (the other still does).
  caf::anon_send(router, ep_route_atom::value, uint64_t{7}, std::vector<std::string>{}, feed_handle);
  route({"orders.c", "payments.x"});
  arrived = false;
  feed->receive([&](deliver_atom, webhook_batch& b) {
                  got = std::move(b);
                  arrived = true;
                },
                caf::after(reply_timeout) >> [] {});
  ASSERT_TRUE(arrived);
  ASSERT_EQ(got.endpoints.size(), 1u);
  EXPECT_EQ(got.endpoints[0].endpoint, 8u);
}

} // namespace
} // namespace evmesh
