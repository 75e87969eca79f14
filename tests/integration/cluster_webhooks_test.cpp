// Webhook endpoints across a three-node cluster: an endpoint created on one
// node is known on all, exactly one live node (the rendezvous owner) delivers
// it, events published on any node reach the receiver, and when the owner
// is killed a survivor takes over; after the old owner restarts every
// published event has arrived.
#include "support/api_client.hpp"
#include "support/cluster_helpers.hpp"
#include "support/node_process.hpp"
#include "support/webhook_receiver.hpp"

#include <gtest/gtest.h>

#include <set>
#include <thread>

namespace evmesh::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
constexpr auto delivered_ids = &receiver_process::delivered_ids;

const std::string token = "cluster-webhook-test-token";

std::vector<std::string> args(const std::string& name, const std::string& join,
                              const std::vector<std::string>& more = {}) {
  // 40 quick attempts: at 50 % failures no event runs out of them (2^-40).
  std::string schedule = "0";
  for (int i = 1; i < 40; ++i)
    schedule += ",0.05";
  std::vector<std::string> a{"--name", name, "--admin-token", token, "--heartbeat", "100",
                             "--allow-private-targets", "--retry-schedule", schedule};
  if (!join.empty())
    a.insert(a.end(), {"--join", join});
  a.insert(a.end(), more.begin(), more.end());
  return a;
}

json get(const node_process& n, const std::string& target) {
  auto r = api_client(n.url(), token).get(target);
  return r.status == 200 ? r.json() : json{};
}

std::string owner_of(const node_process& n, const std::string& id) {
  auto state = get(n, "/v1/cluster?owner_of=" + id);
  return state.value("owner", "");
}

std::vector<std::string> publish(const node_process& n, int first, int count) {
  api_client c(n.url(), token);
  json batch = json::array();
  for (int i = first; i < first + count; ++i)
    batch.push_back({{"topic", "orders.created"}, {"data", {{"i", i}}}});
  auto r = c.post("/v1/events", batch);
  EXPECT_EQ(r.status, 202) << r.body;
  std::vector<std::string> ids;
  for (const auto& ack : r.json())
    ids.push_back(ack["id"]);
  return ids;
}

TEST(ClusterWebhooks, the_owner_delivers_events_from_every_node_and_a_survivor_takes_over) {
  temp_dir da, db, dc;
  std::map<std::string, std::unique_ptr<node_process>> nodes;
  nodes["a"] = std::make_unique<node_process>(da.path(), args("a", ""));
  auto seed = nodes["a"]->cluster_address();
  nodes["b"] = std::make_unique<node_process>(db.path(), args("b", seed));
  nodes["c"] = std::make_unique<node_process>(dc.path(), args("c", seed));
  std::map<std::string, temp_dir*> dirs{{"a", &da}, {"b", &db}, {"c", &dc}};
  for (auto& [name, n] : nodes)
    ASSERT_TRUE(eventually([&] { return get(*n, "/v1/cluster")["live"].size() == 3; })) << name;

  // Half of the requests fail, so the owner always has retries open when it
  // is killed: its queue must still be delivered once it is back.
  receiver_process receiver({"--fail-percent", "50"});
  api_client on_a(nodes["a"]->url(), token);
  auto created = on_a.post("/v1/endpoints", {{"url", receiver.url()}, {"topics", {"orders.*"}}});
  ASSERT_EQ(created.status, 201) << created.body;
  auto id = created.json()["id"].get<std::string>();

  // Replicated to every node; every node computes the same owner.
  for (auto& [name, n] : nodes)
    ASSERT_TRUE(eventually([&] { return api_client(n->url(), token).get("/v1/endpoints/" + id).status == 200; }))
      << "endpoint unknown on " << name;
  auto owner = owner_of(*nodes["a"], id);
  ASSERT_FALSE(owner.empty());
  for (auto& [name, n] : nodes)
    EXPECT_EQ(owner_of(*n, id), owner);
  // Every node wants the endpoint's events (so each stores them durably).
  for (auto& [name, n] : nodes)
    for (auto& [peer, unused] : nodes)
      if (peer != name)
        ASSERT_TRUE(eventually([&] { return peer_wants(*n, token, peer, "orders.*"); })) << name << " → " << peer;

  std::vector<std::string> published;
  for (const auto& name : {"a", "b", "c"})
    for (auto& event_id : publish(*nodes[name], 0, 50))
      published.push_back(event_id);
  auto got = receiver.wait_until([&](const json& r) { return delivered_ids(r).size() >= published.size(); });
  auto ids = delivered_ids(got);
  for (const auto& event_id : published)
    EXPECT_TRUE(ids.count(event_id)) << "not delivered: " << event_id;
  for (auto& [name, n] : nodes)
    if (name != owner)
      EXPECT_EQ(metric(*n, "evmesh_webhook_attempts_total"), 0u) << name << " is not the owner";

  // The owner dies with work open: a survivor owns the endpoint and
  // delivers new events.
  for (auto& event_id : publish(*nodes[owner], 500, 50))
    published.push_back(event_id);
  nodes[owner]->kill9();
  std::string survivor = owner == "a" ? "b" : "a";
  for (auto& [name, n] : nodes)  // every survivor has noticed: the takeover is done
    if (name != owner)
      ASSERT_TRUE(eventually([&] { return get(*n, "/v1/cluster")["live"].size() == 2; })) << name;
  auto next_owner = owner_of(*nodes[survivor], id);
  ASSERT_NE(next_owner, owner);
  ASSERT_TRUE(eventually([&] { return metric(*nodes[next_owner], "evmesh_webhook_endpoints") == 1; }));
  // Events published after the takeover are the new owner's to deliver;
  // what the dead owner had accepted waits for it (docs/CLUSTER.md).
  auto after_takeover = publish(*nodes[survivor], 1000, 50);
  published.insert(published.end(), after_takeover.begin(), after_takeover.end());
  got = receiver.wait_until([&](const json& r) {
    auto have = delivered_ids(r);
    for (const auto& event_id : after_takeover)
      if (!have.count(event_id))
        return false;
    return true;
  });
  ids = delivered_ids(got);
  for (const auto& event_id : after_takeover)
    EXPECT_TRUE(ids.count(event_id)) << "the new owner " << next_owner << " did not deliver " << event_id;

  // The old owner comes back (same address and data) and owns it again.
  auto addr = nodes[owner]->cluster_address();
  nodes[owner] = std::make_unique<node_process>(dirs[owner]->path(),
                                                args(owner, nodes[survivor]->cluster_address(), {"--cluster", addr}));
  ASSERT_TRUE(eventually([&] { return get(*nodes[survivor], "/v1/cluster")["live"].size() == 3; }));
  EXPECT_EQ(owner_of(*nodes[survivor], id), owner);
  for (auto& event_id : publish(*nodes[survivor], 2000, 50))
    published.push_back(event_id);
  got = receiver.wait_until([&](const json& r) {
    auto have = delivered_ids(r);
    for (const auto& event_id : published)
      if (!have.count(event_id))
        return false;
    return true;
  });
  ids = delivered_ids(got);
  for (const auto& event_id : published)
    EXPECT_TRUE(ids.count(event_id)) << "never delivered: " << event_id;
}

} // namespace
} // namespace evmesh::test
