// A WebSocket subscriber on another node: two real `evmesh node` processes
// in a cluster; a client subscribed over /v1/ws on B receives every event
// published over /v1/ws on A, once and in publish order, and nothing it did
// not subscribe to.
#include "support/api_client.hpp"
#include "support/cluster_helpers.hpp"
#include "support/node_process.hpp"
#include "support/ws_client.hpp"

#include <gtest/gtest.h>

namespace evmesh::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

const std::string token = "ws-cluster-test-admin-token";

std::vector<std::string> node_args(const std::string& name, std::vector<std::string> more = {}) {
  std::vector<std::string> args{"--name", name, "--admin-token", token, "--heartbeat", "100"};
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

TEST(WsCluster, ASubscriberOnBReceivesWhatIsPublishedOnAOnceAndInOrder) {
  temp_dir da, db;
  node_process a(da.path(), node_args("a"));
  node_process b(db.path(), node_args("b", {"--join", a.cluster_address()}));
  ASSERT_TRUE(eventually([&] { return alive_members(a, token) == 1 && alive_members(b, token) == 1; }))
    << cluster_state(a, token).dump();

  ws_client subscriber(b.port(), "/v1/ws?token=" + token);
  subscriber.send(json{{"op", "subscribe"}, {"topic", "orders.>"}});
  ASSERT_EQ(subscriber.next_json(), json({{"op", "subscribed"}, {"topic", "orders.>"}}));
  ASSERT_TRUE(eventually([&] { return peer_wants(a, token, "b", "orders.>"); }))
    << "A never learned that B wants orders.>";

  constexpr int count = 200;
  ws_client publisher(a.port(), "/v1/ws?token=" + token);
  for (int i = 0; i < count; ++i) {
    publisher.send(json{{"op", "publish"}, {"topic", i % 2 ? "orders.paid" : "orders.created"}, {"data", {{"n", i}}}});
    if (i % 10 == 0)
      publisher.send(json{{"op", "publish"}, {"topic", "invoices.created"}, {"data", i}});  // not wanted on B
  }
  for (int acked = 0; acked < count + count / 10;) {
    auto m = publisher.next_json();
    ASSERT_TRUE(m) << "publish acks stalled after " << acked;
    ASSERT_EQ((*m)["op"], "ack") << *m;
    ++acked;
  }

  for (int i = 0; i < count; ++i) {
    auto m = subscriber.next_json(30s);
    ASSERT_TRUE(m) << "the subscriber on B stalled at event " << i;
    ASSERT_EQ((*m)["op"], "event") << *m;
    ASSERT_EQ((*m)["data"]["n"], i) << "out of order or duplicated";
    EXPECT_EQ((*m)["topic"], i % 2 ? "orders.paid" : "orders.created");
  }
  subscriber.send(json{{"op", "ping"}});
  EXPECT_EQ(subscriber.next_json(), json({{"op", "pong"}})) << "something followed the last event";
  subscriber.close();
  publisher.close();
  EXPECT_EQ(b.stop(), 0) << b.output();
  EXPECT_EQ(a.stop(), 0) << a.output();
}

} // namespace
} // namespace evmesh::test
