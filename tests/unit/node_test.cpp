// The embedding API (evmesh::node) end to end inside one process: publish →
// durable store → router → subscriber callbacks and host actors; ordering,
// dedup, validation errors, cancellation, bounded subscriber queues,
// history, and restart on the same data directory.
#include <evmesh/caf.hpp>
#include <evmesh/evmesh.hpp>

#include <caf/all.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <random>
#include <thread>

namespace evmesh {
namespace {

using namespace std::chrono_literals;

std::filesystem::path fresh_dir() {
  std::random_device rd;
  auto dir = std::filesystem::temp_directory_path() / ("evmesh-node-test-" + std::to_string(rd()));
  std::filesystem::remove_all(dir);
  return dir;
}

node_config config_in(const std::filesystem::path& dir) {
  node_config cfg;
  cfg.name = "test";
  cfg.data_dir = dir;
  cfg.admin_token = "test-admin";
  return cfg;
}

// Collects delivered events; waits (bounded) until a count is reached.
class collector {
public:
  void add(const event& e) {
    std::lock_guard<std::mutex> hold(lock_);
    events_.push_back(e);
    changed_.notify_all();
  }
  bool wait_for(std::size_t count, std::chrono::milliseconds timeout = 30s) {
    std::unique_lock<std::mutex> hold(lock_);
    return changed_.wait_for(hold, timeout, [&] { return events_.size() >= count; });
  }
  std::vector<event> events() {
    std::lock_guard<std::mutex> hold(lock_);
    return events_;
  }
  std::function<void(const event&)> callback() {
    return [this](const event& e) { add(e); };
  }

private:
  std::mutex lock_;
  std::condition_variable changed_;
  std::vector<event> events_;
};

class NodeTest : public ::testing::Test {
protected:
  void TearDown() override { std::filesystem::remove_all(dir); }
  std::filesystem::path dir = fresh_dir();
};

TEST_F(NodeTest, PublishedEventReachesMatchingSubscribersOnly) {
  node n{config_in(dir)};
  collector orders, everything, payments;
  auto s1 = n.subscribe("orders.*", orders.callback());
  auto s2 = n.subscribe(">", everything.callback());
  auto s3 = n.subscribe("payments.>", payments.callback());
  auto ack = n.publish("orders.created", R"({ "order" : 42 })").get();
  n.publish("invoices.sent", "1").get();
  ASSERT_TRUE(everything.wait_for(2));
  ASSERT_TRUE(orders.wait_for(1));
  auto got = orders.events().at(0);
  EXPECT_EQ(got.id, ack.id);
  EXPECT_EQ(got.seq, ack.seq);
  EXPECT_EQ(got.topic, "orders.created");
  EXPECT_EQ(got.data, R"({"order":42})") << "data is stored compact";
  EXPECT_GT(got.time_us, 0);
  EXPECT_FALSE(ack.duplicate);
  EXPECT_EQ(orders.events().size(), 1u);
  EXPECT_TRUE(payments.events().empty());
}

TEST_F(NodeTest, EventsArriveInPublishOrder) {
  node n{config_in(dir)};
  collector c;
  auto sub = n.subscribe("seq.>", c.callback());
  constexpr int count = 5000;
  std::future<publish_result> last;
  for (int i = 0; i < count; ++i)
    last = n.publish("seq.t" + std::to_string(i % 3), std::to_string(i));
  last.get();
  ASSERT_TRUE(c.wait_for(count));
  auto events = c.events();
  ASSERT_EQ(events.size(), static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) {
    ASSERT_EQ(events[i].data, std::to_string(i));
    if (i > 0)
      ASSERT_EQ(events[i].seq, events[i - 1].seq + 1);
  }
}

TEST_F(NodeTest, ConcurrentPublishersKeepTheirOwnOrder) {
  node n{config_in(dir)};
  collector c;
  auto sub = n.subscribe("conc.*", c.callback());
  constexpr int threads = 4, each = 1000;
  std::vector<std::thread> publishers;
  for (int t = 0; t < threads; ++t)
    publishers.emplace_back([&, t] {
      for (int i = 0; i < each; ++i)
        n.publish("conc.p" + std::to_string(t), std::to_string(i));
    });
  for (auto& p : publishers)
    p.join();
  ASSERT_TRUE(c.wait_for(threads * each));
  std::vector<int> next(threads, 0);
  for (const auto& e : c.events()) {
    int t = e.topic.back() - '0';
    ASSERT_EQ(e.data, std::to_string(next[t])) << "publisher " << t;
    ++next[t];
  }
}

TEST_F(NodeTest, RepublishedIdIsAcknowledgedButDeliveredOnce) {
  node n{config_in(dir)};
  collector c;
  auto sub = n.subscribe("dup.>", c.callback());
  auto first = n.publish("dup.a", "1", {.id = "order-7"}).get();
  auto second = n.publish("dup.a", "2", {.id = "order-7"}).get();
  EXPECT_TRUE(second.duplicate);
  EXPECT_EQ(second.seq, first.seq);
  n.publish("dup.b", "3").get();
  ASSERT_TRUE(c.wait_for(2));
  auto events = c.events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].data, "1");
  EXPECT_EQ(events[1].topic, "dup.b");
}

TEST_F(NodeTest, BadInputThrowsWithTheReason) {
  node n{config_in(dir)};
  auto code_of = [](auto&& fn) {
    try {
      fn();
    } catch (const error& e) {
      return e.code();
    }
    ADD_FAILURE() << "no evmesh::error thrown";
    return errc::unavailable;
  };
  EXPECT_EQ(code_of([&] { n.publish("orders..x", "1"); }), errc::invalid_topic);
  EXPECT_EQ(code_of([&] { n.publish("orders.*", "1"); }), errc::invalid_topic);
  EXPECT_EQ(code_of([&] { n.publish("orders.x", "{not json"); }), errc::invalid_data);
  EXPECT_EQ(code_of([&] { n.publish("orders.x", "1", {.id = "has space"}); }), errc::invalid_id);
  EXPECT_EQ(code_of([&] { n.publish("orders.x", std::string(9u << 20, '1')); }), errc::too_large);
  EXPECT_EQ(code_of([&] { n.publish("evmesh.registry.token", "1"); }), errc::reserved_topic);
  EXPECT_EQ(code_of([&] { n.publish("orders.x", "1", {.headers = {{"h", "caf\xe9"}}}); }), errc::invalid_header);
  EXPECT_EQ(code_of([&] { n.subscribe("a.>.b", [](const event&) {}); }), errc::invalid_pattern);
  EXPECT_EQ(code_of([&] { n.history("a..b"); }), errc::invalid_pattern);
  // Binary data is not checked as JSON.
  EXPECT_NO_THROW(n.publish("orders.bin", std::string("\x00\xff", 2), {.binary = true}).get());
}

TEST_F(NodeTest, NoCallbackRunsAfterCancelReturns) {
  node n{config_in(dir)};
  collector cancelled, witness;
  auto sub = n.subscribe("cancel.>", cancelled.callback());
  auto other = n.subscribe("cancel.>", witness.callback());
  n.publish("cancel.a", "1").get();
  ASSERT_TRUE(cancelled.wait_for(1));
  sub.cancel();
  for (int i = 0; i < 100; ++i)
    n.publish("cancel.a", std::to_string(i));
  n.publish("cancel.a", R"("last")").get();
  ASSERT_TRUE(witness.wait_for(102));
  EXPECT_EQ(cancelled.events().size(), 1u);
}

TEST_F(NodeTest, SlowSubscriberIsDroppedAtItsQueueLimitAndOthersKeepGoing) {
  auto cfg = config_in(dir);
  cfg.subscriber_queue_limit = 50;
  node n{cfg};
  std::mutex gate;
  std::atomic<int> slow_seen{0};
  std::promise<std::string> closed;
  collector fast;
  subscription slow, quick;
  // Declared after the subscriptions, so it unlocks before they cancel.
  std::unique_lock<std::mutex> closed_gate(gate);
  slow = n.subscribe(
    "slow.>",
    [&](const event&) {
      ++slow_seen;
      std::lock_guard<std::mutex> wait(gate);  // stuck until the test opens the gate
    },
    [&](const std::string& reason) { closed.set_value(reason); });
  quick = n.subscribe("slow.>", fast.callback());
  for (int i = 0; i < 500; ++i)
    n.publish("slow.t", std::to_string(i)).get();  // one by one: batches stay small
  // The fast subscriber gets everything while the slow one is stuck.
  ASSERT_TRUE(fast.wait_for(500));
  EXPECT_EQ(fast.events().size(), 500u);
  // Once its callback returns, the slow one learns it was dropped, having
  // seen no more than its queue limit.
  closed_gate.unlock();
  auto reason = closed.get_future();
  ASSERT_EQ(reason.wait_for(30s), std::future_status::ready);
  EXPECT_NE(reason.get().find("queue limit of 50"), std::string::npos);
  EXPECT_LE(slow_seen.load(), 50);
}

TEST_F(NodeTest, CallbackExceptionsDoNotEndTheSubscription) {
  node n{config_in(dir)};
  collector c;
  auto sub = n.subscribe("throw.>", [&](const event& e) {
    c.add(e);
    if (e.data == "1")
      throw std::runtime_error("handler failed");
  });
  n.publish("throw.a", "1").get();
  n.publish("throw.a", "2").get();
  ASSERT_TRUE(c.wait_for(2));
}

TEST_F(NodeTest, HostActorReceivesEventPointers) {
  node n{config_in(dir)};
  std::promise<std::string> received;
  auto actor = evmesh::system_of(n).spawn([&](caf::event_based_actor*) -> caf::behavior {
    return {[&](const event_ptr& e) { received.set_value(e->topic + "=" + e->data); }};
  });
  {
    auto sub = evmesh::subscribe(n, "host.>", actor);
    n.publish("host.x", R"("hello")").get();
    auto got = received.get_future();
    ASSERT_EQ(got.wait_for(30s), std::future_status::ready);
    EXPECT_EQ(got.get(), R"(host.x="hello")");
  }
  caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
}

TEST_F(NodeTest, HistoryAndRestartKeepEverything) {
  std::vector<publish_result> acks;
  {
    node n{config_in(dir)};
    for (int i = 0; i < 30; ++i)
      acks.push_back(n.publish(i % 2 ? "hist.odd" : "hist.even", std::to_string(i)).get());
    auto odd = n.history("hist.odd");
    ASSERT_EQ(odd.size(), 15u);
    EXPECT_EQ(odd.front().data, "1");
    EXPECT_EQ(n.history("hist.*", acks[9].seq, 5).size(), 5u);
  }
  node again{config_in(dir)};
  auto all = again.history("hist.>");
  ASSERT_EQ(all.size(), 30u);
  for (std::size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].id, acks[i].id);
    EXPECT_EQ(all[i].seq, acks[i].seq);
  }
  auto dup = again.publish("hist.odd", "0", {.id = acks[3].id}).get();
  EXPECT_TRUE(dup.duplicate);
  EXPECT_EQ(again.publish("hist.new", "1").get().seq, acks.back().seq + 1);
}

TEST_F(NodeTest, RetentionAtStartDropsOldestEventsBeyondTheSizeCap) {
  auto cfg = config_in(dir);
  cfg.retention_interval = std::chrono::seconds{0};  // no timer; the cap applies at the next start
  {
    node n{cfg};
    std::string payload = "\"" + std::string(1000, 'x') + "\"";
    for (int i = 0; i < 100; ++i)
      n.publish("ret.t", payload).get();
    EXPECT_EQ(n.history("ret.t").size(), 100u);
  }
  cfg.retention_max_bytes = 20000;
  node n{cfg};
  auto kept = n.history("ret.t");
  ASSERT_LT(kept.size(), 100u);
  ASSERT_FALSE(kept.empty());
  EXPECT_EQ(kept.back().seq, 100u) << "the newest events are the ones kept";
  uint64_t bytes = 0;
  for (const auto& e : kept)
    bytes += e.id.size() + e.topic.size() + e.data.size();
  EXPECT_LE(bytes, 20000u);
  EXPECT_GT(bytes, 20000u - 1100u) << "only what exceeds the cap is deleted";
}

} // namespace
} // namespace evmesh
