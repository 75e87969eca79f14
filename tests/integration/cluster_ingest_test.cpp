// Inbound webhooks end to end across three real nodes: a source created on
// B replicates to every node; a third party's Standard Webhooks request
// (signed by the reference npm package) arrives at A, is published there,
// delivered as a signed outbound webhook by the endpoint's owner (arranged
// not to be A) and to a WebSocket subscriber on C; the same delivery sent
// again to C is recognised as a duplicate there; deleted on C, the source
// is gone on every node.
#include "support/api_client.hpp"
#include "support/cluster_helpers.hpp"
#include "support/independent_signers.hpp"
#include "support/node_process.hpp"
#include "support/webhook_receiver.hpp"
#include "support/ws_client.hpp"

#include <gtest/gtest.h>

namespace evmesh::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
namespace bhttp = boost::beast::http;

const std::string token = "cluster-ingest-test-token";
// base64 of "0123456789abcdef0123456789abcdef"
const std::string endpoint_secret = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

std::vector<std::string> args(const std::string& name, const std::string& join) {
  std::vector<std::string> a{"--name", name, "--admin-token", token, "--heartbeat", "100",
                             "--allow-private-targets", "--retry-schedule", "0,0.05,0.05,0.05"};
  if (!join.empty())
    a.insert(a.end(), {"--join", join});
  return a;
}

TEST(ClusterIngest, a_signed_webhook_at_a_reaches_the_endpoint_owner_and_a_websocket_on_c) {
  temp_dir da, db, dc;
  std::map<std::string, std::unique_ptr<node_process>> nodes;
  nodes["a"] = std::make_unique<node_process>(da.path(), args("a", ""));
  nodes["b"] = std::make_unique<node_process>(db.path(), args("b", nodes["a"]->cluster_address()));
  nodes["c"] = std::make_unique<node_process>(dc.path(), args("c", nodes["a"]->cluster_address()));
  for (auto& [name, n] : nodes)
    ASSERT_TRUE(eventually([&] { return cluster_state(*n, token).value("live", json::array()).size() == 3; })) << name;

  // An endpoint whose owner is not A (one that A would own is disabled,
  // which replicates, and another is made).
  receiver_process receiver({"--secret", endpoint_secret});
  api_client on_b(nodes["b"]->url(), token);
  std::string endpoint_id, owner;
  for (int attempt = 0; attempt < 20 && endpoint_id.empty(); ++attempt) {
    auto created = on_b.post("/v1/endpoints", {{"url", receiver.url()}, {"topics", {"partner.>"}}, {"secret", endpoint_secret}});
    ASSERT_EQ(created.status, 201) << created.body;
    auto id = created.json()["id"].get<std::string>();
    auto owner_of = on_b.get("/v1/cluster?owner_of=" + id).json()["owner"].get<std::string>();
    if (owner_of != "a") {
      endpoint_id = id;
      owner = owner_of;
    } else {
      ASSERT_EQ(on_b.call(bhttp::verb::patch, "/v1/endpoints/" + id, json{{"disabled", true}}.dump()).status, 200);
    }
  }
  ASSERT_FALSE(endpoint_id.empty());
  RecordProperty("endpoint_owner", owner);
  for (auto& [name, n] : nodes) {
    api_client c(n->url(), token);
    ASSERT_TRUE(eventually([&] { return c.get("/v1/endpoints/" + endpoint_id).status == 200; })) << name;
    EXPECT_EQ(c.get("/v1/cluster?owner_of=" + endpoint_id).json()["owner"], owner) << name;
  }

  // The source, created on B, is known everywhere (its secret included).
  auto source = on_b.post("/v1/sources", {{"name", "partner"},
                                          {"topic", "partner.events"},
                                          {"verifier", {{"type", "standard_webhooks"}}}});
  ASSERT_EQ(source.status, 201) << source.body;
  auto secret = source.json()["verifier"]["secret"].get<std::string>();
  for (auto& [name, n] : nodes)
    ASSERT_TRUE(eventually([&] { return api_client(n->url(), token).get("/v1/sources/partner").status == 200; }))
      << "source unknown on " << name;

  ws_client subscriber(nodes["c"]->port(), "/v1/ws?token=" + token);
  subscriber.send(json{{"op", "subscribe"}, {"topic", "partner.>"}});
  ASSERT_EQ(subscriber.next_json(), json({{"op", "subscribed"}, {"topic", "partner.>"}}));
  ASSERT_TRUE(eventually([&] { return peer_wants(*nodes["a"], token, "c", "partner.>"); }));
  ASSERT_TRUE(eventually([&] { return peer_wants(*nodes["a"], token, owner, "partner.>"); }));

  // The third party's request arrives at A.
  std::string body = R"({"type":"invoice.paid","invoice":"in_42"})";
  auto headers = standard_webhooks_headers(secret, "msg_cluster_1", unix_now(), body);
  headers["Content-Type"] = "application/json";
  auto accepted = api_client(nodes["a"]->url(), "").call(bhttp::verb::post, "/v1/ingest/partner", body, headers);
  ASSERT_EQ(accepted.status, 202) << accepted.body;
  EXPECT_EQ(accepted.json()["id"], "partner:msg_cluster_1");

  auto event = subscriber.next_op("event", 30s);
  ASSERT_TRUE(event) << "the WebSocket subscriber on C got nothing";
  EXPECT_EQ((*event)["id"], "partner:msg_cluster_1");
  EXPECT_EQ((*event)["topic"], "partner.events");
  EXPECT_EQ((*event)["data"], json::parse(body));

  auto got = receiver.wait_until([](const json& r) { return !r.empty(); });
  ASSERT_EQ(got.size(), 1u) << got.dump();
  EXPECT_EQ(got[0]["id"], "partner:msg_cluster_1");
  EXPECT_EQ(got[0]["verified"], true) << "the outbound signature does not verify: " << got[0].dump();
  EXPECT_EQ(json::parse(got[0]["body"].get<std::string>())["data"], json::parse(body));
  for (auto& [name, n] : nodes)
    EXPECT_EQ(metric(*n, "evmesh_webhook_attempts_total") > 0, name == owner) << name << " (owner " << owner << ")";

  // The sender retries at C: C stored the event too, so it is a duplicate.
  auto again = api_client(nodes["c"]->url(), "").call(bhttp::verb::post, "/v1/ingest/partner", body, headers);
  ASSERT_EQ(again.status, 202) << again.body;
  EXPECT_EQ(again.json().value("duplicate", false), true);

  // Deleted on C, the source stops accepting on every node.
  ASSERT_EQ(api_client(nodes["c"]->url(), token).call(bhttp::verb::delete_, "/v1/sources/partner", "").status, 204);
  for (auto& [name, n] : nodes)
    EXPECT_TRUE(eventually([&] {
      return api_client(n->url(), "").call(bhttp::verb::post, "/v1/ingest/partner", body, headers).status == 404;
    })) << "still accepting on " << name;
}

} // namespace
} // namespace evmesh::test
