// GET /v1/ws under load, against a real `evmesh node`: 1000 concurrent
// clients each receiving an event (and the node's gauges back to zero once
// they leave), many clients subscribing and unsubscribing while events flow
// (an event only ever arrives inside a subscription, in order), and a client
// that stops reading closed with 1013 while a fast one keeps receiving.
#include "support/api_client.hpp"
#include "support/metrics.hpp"
#include "support/node_process.hpp"
#include "support/ws_client.hpp"

#include <gtest/gtest.h>

#include <sys/resource.h>

#include <atomic>
#include <thread>

namespace evmesh::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// 1000 clients need more than the usual 1024 descriptors, here and in the
// node (which inherits the limit).
void raise_descriptor_limit(rlim_t wanted) {
  rlimit limit{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &limit), 0);
  if (limit.rlim_cur >= wanted)
    return;
  ASSERT_GE(limit.rlim_max, wanted) << "the hard descriptor limit is too low for this test";
  limit.rlim_cur = wanted;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &limit), 0);
}

TEST(WsLoad, AThousandConcurrentClientsEachReceiveTheEvent) {
  constexpr std::size_t clients = 1000;
  raise_descriptor_limit(4 * clients);
  temp_dir dir;
  node_process node(dir.path());
  api_client http(node.url(), node.admin_token());

  std::atomic<std::size_t> subscribed{0};
  std::atomic<std::size_t> received{0};
  std::atomic<std::size_t> unexpected{0};
  const std::string sub = json{{"op", "subscribe"}, {"topic", "crowd.*"}}.dump();
  ws_crowd crowd(
    node.port(), "/v1/ws?token=" + node.admin_token(), clients,
    [&](ws_crowd& crowd, std::size_t i) { crowd.send(i, sub); },
    [&](ws_crowd&, std::size_t, const std::string& text) {
      auto m = json::parse(text);
      if (m["op"] == "subscribed")
        ++subscribed;
      else if (m["op"] == "event" && m["topic"] == "crowd.hello")
        ++received;
      else
        ++unexpected;
    });
  ASSERT_TRUE(crowd.wait([&] { return crowd.opened() + crowd.failed() == clients; }, 60s))
    << crowd.opened() << " opened, " << crowd.failed() << " failed";
  ASSERT_EQ(crowd.failed(), 0u);
  ASSERT_TRUE(crowd.wait([&] { return subscribed == clients; }, 60s)) << subscribed << " subscribed";
  EXPECT_EQ(metric(http, "evmesh_ws_connections"), clients);
  EXPECT_EQ(metric(http, "evmesh_subscribers"), clients);

  ASSERT_EQ(http.post("/v1/events", {{"topic", "crowd.hello"}, {"data", {{"to", "everyone"}}}}).status, 202);
  EXPECT_TRUE(crowd.wait([&] { return received == clients; }, 60s)) << received << " of " << clients;
  EXPECT_EQ(unexpected, 0u);

  crowd.close_all();
  EXPECT_TRUE(crowd.wait([&] { return crowd.ended() == clients; }, 60s)) << crowd.ended() << " ended";
  EXPECT_EQ(wait_metric(http, "evmesh_ws_connections", 0), 0u);
  EXPECT_EQ(wait_metric(http, "evmesh_subscribers", 0), 0u);
  EXPECT_EQ(node.stop(), 0) << node.output();
}

// Each client subscribes to "race.*" and unsubscribes again, over and over,
// while a publisher keeps publishing on race.x: odd cycles send both at once
// (the unsubscribe races the subscription being made), even cycles
// unsubscribe once an event has arrived in the subscription. Whatever the
// interleaving: an event arrives only between "subscribed" and
// "unsubscribed", in seq order, never twice; and the node ends with no
// subscription left.
TEST(WsLoad, SubscribeUnsubscribeRacesKeepEveryEventInsideItsSubscription) {
  constexpr std::size_t clients = 20;
  constexpr int cycles = 60;
  temp_dir dir;
  node_process node(dir.path());
  api_client http(node.url(), node.admin_token());

  struct client_state {  // touched on the crowd's io thread only
    int cycle = 0;
    bool inside = false;  // between "subscribed" and "unsubscribed"
    bool leaving = false; // unsubscribe sent
    uint64_t last_seq = 0;
    std::size_t events = 0;
  };
  std::vector<client_state> state(clients);
  std::atomic<std::size_t> finished{0};
  std::atomic<std::size_t> violations{0};
  std::string first_violation;
  const std::string sub = json{{"op", "subscribe"}, {"topic", "race.*"}}.dump();
  const std::string unsub = json{{"op", "unsubscribe"}, {"topic", "race.*"}}.dump();

  auto next_cycle = [&](ws_crowd& crowd, std::size_t i) {
    auto& s = state[i];
    if (++s.cycle > cycles) {
      ++finished;
      return;
    }
    crowd.send(i, sub);
    s.leaving = s.cycle % 2 == 1;
    if (s.leaving)
      crowd.send(i, unsub);
  };
  auto violation = [&](const std::string& what) {
    if (violations++ == 0)
      first_violation = what;
  };
  ws_crowd crowd(
    node.port(), "/v1/ws?token=" + node.admin_token(), clients, next_cycle,
    [&](ws_crowd& crowd, std::size_t i, const std::string& text) {
      auto m = json::parse(text);
      auto& s = state[i];
      const auto& op = m["op"];
      if (op == "subscribed") {
        if (s.inside)
          violation("subscribed twice");
        s.inside = true;
      } else if (op == "unsubscribed") {
        s.inside = false;
        next_cycle(crowd, i);
      } else if (op == "event") {
        auto seq = m["seq"].get<uint64_t>();
        if (!s.inside)
          violation("event " + std::to_string(seq) + " outside a subscription");
        if (seq <= s.last_seq)
          violation("event " + std::to_string(seq) + " after " + std::to_string(s.last_seq));
        s.last_seq = seq;
        ++s.events;
        if (!s.leaving) {
          s.leaving = true;
          crowd.send(i, unsub);
        }
      } else {
        violation("unexpected " + text);
      }
    });

  std::atomic<bool> publishing{true};
  std::atomic<int> published{0};
  std::thread publisher([&] {
    api_client c(node.url(), node.admin_token());
    for (int i = 0; publishing && i < 100000; ++i) {
      if (c.post("/v1/events", {{"topic", "race.x"}, {"data", i}}).status == 202)
        ++published;
    }
  });
  bool done = crowd.wait([&] { return finished == clients; }, 120s);
  publishing = false;
  publisher.join();
  ASSERT_TRUE(done) << finished << " of " << clients << " clients finished their cycles";
  EXPECT_EQ(violations, 0u) << first_violation;
  EXPECT_GT(published, 0);
  std::size_t events = 0;
  for (const auto& s : state)
    events += s.events;
  EXPECT_GT(events, 0u) << "no event arrived inside any subscription: the test proved nothing";
  EXPECT_EQ(metric(http, "evmesh_ws_connections"), clients);
  EXPECT_EQ(wait_metric(http, "evmesh_subscribers", 0), 0u) << "subscriptions leaked";

  crowd.close_all();
  EXPECT_TRUE(crowd.wait([&] { return crowd.ended() == clients; }, 30s));
  EXPECT_EQ(wait_metric(http, "evmesh_ws_connections", 0), 0u);
  EXPECT_EQ(node.stop(), 0) << node.output();
}

TEST(WsLoad, ClientThatStopsReadingIsClosedWith1013WhileAFastOneKeepsReceiving) {
  temp_dir dir;
  node_process node(dir.path(), {"--ws-queue-messages", "64"});
  api_client http(node.url(), node.admin_token());
  const std::string target = "/v1/ws?token=" + node.admin_token();
  ws_client slow(node.port(), target, {.receive_buffer = 4096});
  ws_client fast(node.port(), target);
  for (auto* c : {&slow, &fast}) {
    c->send(json{{"op", "subscribe"}, {"topic", "ws.slow"}});
    ASSERT_EQ(c->next_json(), json({{"op", "subscribed"}, {"topic", "ws.slow"}}));
  }
  // From here on `slow` reads nothing until it has been closed.

  const std::string filler(16 * 1024, 'x');
  json batch = json::array();
  for (int i = 0; i < 8; ++i)
    batch.push_back({{"topic", "ws.slow"}, {"data", filler}});
  std::size_t received = 0;
  for (int round = 0; round < 1000 && metric(http, "evmesh_ws_closed_slow_total") == 0; ++round) {
    ASSERT_EQ(http.post("/v1/events", batch).status, 202);
    for (int i = 0; i < 8; ++i, ++received)
      ASSERT_TRUE(fast.next_op("event")) << "the fast client stalled after " << received << " events";
  }
  ASSERT_EQ(metric(http, "evmesh_ws_closed_slow_total"), 1u);

  auto seq = http.post("/v1/events", {{"topic", "ws.slow"}, {"data", 1}}).json()["seq"];
  std::optional<json> m;
  do
    m = fast.next_op("event");
  while (m && (*m)["seq"] != seq);
  EXPECT_TRUE(m) << "the fast client lost its subscription";

  // Reading again (within the node's close timeout) lets what was in
  // flight through, then the close frame.
  auto closed = slow.wait_closed(30s);
  ASSERT_TRUE(closed) << "the slow client got no close frame";
  EXPECT_EQ(closed->code, 1013);
  EXPECT_NE(closed->reason.find("too slowly"), std::string::npos) << closed->reason;
  EXPECT_EQ(wait_metric(http, "evmesh_ws_connections", 1), 1u);
  fast.close();
  EXPECT_EQ(node.stop(), 0) << node.output();
}

} // namespace
} // namespace evmesh::test
