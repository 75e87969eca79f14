// The publisher actor on its own, with the real store writer and reader on a
// SQLite file in a temp dir and the real router (a scoped actor subscribed to
// ">" sees what is routed): accepted events are stamped, stored, acked once
// (after they are durable) and routed in log order; a duplicate id is acked
// with the stored seq and not routed again; ingested events keep id, time
// and origin; when the store writer is gone a publish fails with a reason and
// nothing is routed. The publisher does not check envelopes: the edges do
// (model/envelope.hpp, tested in envelope_test.cpp and node_test.cpp).
#include "support/actor_harness.hpp"

#include "actors/publisher.hpp"
#include "actors/router.hpp"

#include <gtest/gtest.h>

namespace evmesh {
namespace {

using test::reply_timeout;

// Collects the answers a publish_callback gets (it must be called once).
struct answers {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<publish_reply> got;

  publish_callback callback() {
    return [this](publish_reply r) {
      std::lock_guard lock{mutex};
      got.push_back(std::move(r));
      changed.notify_all();
    };
  }
  // The first answer; ADD_FAILUREs when none came in time.
  publish_reply wait() {
    std::unique_lock lock{mutex};
    if (!changed.wait_for(lock, reply_timeout, [&] { return !got.empty(); })) {
      ADD_FAILURE() << "the publish was never answered";
      return {};
    }
    return got.front();
  }
  std::size_t count() {
    std::lock_guard lock{mutex};
    return got.size();
  }
};

struct PublisherActor : ::testing::Test {
  test::actor_test_dir dir;
  store_probe probe;
  routing_probe routing;
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys = std::make_unique<caf::actor_system>(test::node_like(cfg));
  test::sqlite_actors store{*sys, dir.path(), probe};
  router_actor router = spawn_router(*sys, routing);
  publisher_actor publisher = spawn_publisher(*sys, store.writer, router, 4096, probe);
  std::unique_ptr<caf::scoped_actor> routed = subscribed();  // sees every routed event
  std::unique_ptr<caf::scoped_actor> self = std::make_unique<caf::scoped_actor>(*sys);
  std::vector<std::unique_ptr<answers>> kept;  // alive until the actors are gone

  std::unique_ptr<caf::scoped_actor> subscribed() {
    auto sub = std::make_unique<caf::scoped_actor>(*sys);
    caf::anon_send(router, subscribe_atom::value, subscriber_id{1}, std::string(">"), caf::actor{*sub},
                   uint64_t{1000000});
    return sub;
  }

  ~PublisherActor() override {
    caf::anon_send_exit(publisher, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(router, caf::exit_reason::user_shutdown);
    publisher = nullptr;
    router = nullptr;
    store.stop();
    routed.reset();
    self.reset();
    sys.reset();
  }

  publish_reply call(std::vector<event> events, bool ingest = false) {
    auto& a = *kept.emplace_back(std::make_unique<answers>());
    if (ingest)
      caf::anon_send(publisher, ingest_atom::value, std::move(events), a.callback());
    else
      caf::anon_send(publisher, publish_atom::value, std::move(events), a.callback());
    auto reply = a.wait();
    EXPECT_EQ(a.count(), 1u) << "the callback is called exactly once";
    return reply;
  }

  // Everything routed so far: waits for the publisher to be idle (so what it
  // routed is in the router's mailbox), then routes a "fence" event itself
  // and collects what the subscriber gets before it.
  std::vector<event> routed_so_far() {
    bool flushed = false;
    (*self)->request(publisher, reply_timeout, flush_atom::value)
      .receive([&](bool ok) { flushed = ok; }, [](caf::error&) {});
    EXPECT_TRUE(flushed);
    auto fence = std::make_shared<event>();
    fence->topic = "fence";
    caf::anon_send(router, route_atom::value, std::vector<event_ptr>{fence});
    std::vector<event> out;
    for (int i = 0; i < 100; ++i) {  // messages before the fence, at most
      bool done = false, timeout = false;
      (*routed)->receive(
        [&](deliver_atom, const std::vector<event_ptr>& events) {
          for (const auto& e : events)
            if (e->topic == "fence")
              done = true;
            else
              out.push_back(*e);
          caf::anon_send(router, consumed_atom::value, subscriber_id{1}, uint64_t{events.size()});
        },
        caf::after(reply_timeout) >> [&] { timeout = true; });
      if (done)
        return out;
      if (timeout)
        break;
    }
    ADD_FAILURE() << "the fence event never arrived";
    return out;
  }

  std::optional<event> stored(const std::string& id) {
    std::optional<event> out;
    (*self)->request(store.reader, reply_timeout, find_atom::value, id)
      .receive([&](std::optional<event>& e) { out = std::move(e); },
               [](caf::error& err) { ADD_FAILURE() << caf::to_string(err); });
    return out;
  }
};

TEST_F(PublisherActor, AcceptedEventsAreStampedStoredAckedAndRoutedInLogOrder) {
  auto given = test::draft("orders.created", "{\"n\":1}");
  given.id = "order-1";
  auto before = now_us();
  auto reply = call({given, test::draft("orders.paid", "{\"n\":2}"), test::draft("orders.shipped", "{\"n\":3}")});
  ASSERT_EQ(reply.error, "");
  ASSERT_EQ(reply.acks.size(), 3u);
  EXPECT_EQ(reply.acks[0].id, "order-1") << "a given id is kept";
  EXPECT_FALSE(reply.acks[1].id.empty()) << "a missing id is made";
  EXPECT_NE(reply.acks[1].id, reply.acks[2].id);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(reply.acks[i].seq, i + 1);
    EXPECT_FALSE(reply.acks[i].duplicate);
    auto kept_event = stored(reply.acks[i].id);
    ASSERT_TRUE(kept_event) << "acked means stored";
    EXPECT_EQ(kept_event->seq, i + 1);
    EXPECT_EQ(kept_event->data, "{\"n\":" + std::to_string(i + 1) + "}");
    EXPECT_GE(kept_event->time_us, before) << "stamped with the publish time";
  }
  auto seen = routed_so_far();
  ASSERT_EQ(seen.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(seen[i].id, reply.acks[i].id) << "routed in log order";
    EXPECT_EQ(seen[i].seq, reply.acks[i].seq);
  }
  EXPECT_EQ(probe.events_published.load(), 3u);
}

TEST_F(PublisherActor, ADuplicateIdIsAckedWithTheStoredSeqAndNotRoutedAgain) {
  auto first = test::draft("orders.created", "{\"v\":1}");
  first.id = "order-1";
  ASSERT_EQ(call({first}).acks.at(0).seq, 1u);
  ASSERT_EQ(routed_so_far().size(), 1u);
  auto again = first;
  again.data = "{\"v\":2}";
  auto reply = call({again});
  ASSERT_EQ(reply.error, "");
  ASSERT_EQ(reply.acks.size(), 1u);
  EXPECT_TRUE(reply.acks[0].duplicate);
  EXPECT_EQ(reply.acks[0].seq, 1u) << "the stored seq";
  EXPECT_TRUE(routed_so_far().empty()) << "a duplicate is not routed again";
  EXPECT_EQ(stored("order-1")->data, "{\"v\":1}") << "the first one stays";
  EXPECT_EQ(probe.events_duplicate.load(), 1u);
}

TEST_F(PublisherActor, IngestedEventsKeepTheirIdTimeAndOrigin) {
  auto received = test::draft("orders.created", "{}");
  received.id = "from-b-1";
  received.time_us = 123456;
  received.origin = "node-b";
  received.origin_seq = 9;
  auto reply = call({received}, true);
  ASSERT_EQ(reply.error, "");
  auto seen = routed_so_far();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].id, "from-b-1");
  EXPECT_EQ(seen[0].time_us, 123456);
  EXPECT_EQ(seen[0].origin, "node-b");
  EXPECT_EQ(seen[0].origin_seq, 9u);
  EXPECT_EQ(stored("from-b-1")->time_us, 123456);
}

TEST_F(PublisherActor, AnEmptyPublishIsAnsweredWithNoAcks) {
  auto reply = call({});
  EXPECT_EQ(reply.error, "");
  EXPECT_TRUE(reply.acks.empty());
}

TEST_F(PublisherActor, WithTheStoreWriterGoneAPublishFailsAndNothingIsRouted) {
  (*self)->monitor(store.writer);
  caf::anon_send_exit(store.writer, caf::exit_reason::user_shutdown);
  bool down = false;
  (*self)->receive([&](caf::down_msg&) { down = true; }, caf::after(reply_timeout) >> [] {});
  ASSERT_TRUE(down);
  auto reply = call({test::draft("orders.created")});
  EXPECT_EQ(reply.error.rfind("store unavailable", 0), 0u) << reply.error;
  EXPECT_TRUE(reply.acks.empty());
  EXPECT_TRUE(routed_so_far().empty());
}

} // namespace
} // namespace evmesh
