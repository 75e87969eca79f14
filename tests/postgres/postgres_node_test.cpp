// `evmesh node --store postgres://…` end to end against a real server
// (tests/support/postgres_server.hpp): publish, history and webhook delivery
// with PostgreSQL as the store; and PostgreSQL stopped and started while a
// client publishes: every event answered 202 is in the history afterwards,
// the others were answered 503 with Retry-After, /healthz and /metrics say
// the store is down meanwhile, and the node recovers by itself, webhook
// deliveries included.
#include "support/api_client.hpp"
#include "support/node_process.hpp"
#include "support/postgres_server.hpp"
#include "support/webhook_receiver.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <set>
#include <thread>

namespace {

using evmesh::test::api_client;
using evmesh::test::node_process;
using evmesh::test::postgres_server;
using evmesh::test::receiver_process;
using evmesh::test::temp_dir;
using nlohmann::json;

// Every event id in the node's history.
std::set<std::string> history_ids(api_client& api) {
  std::set<std::string> out;
  uint64_t since = 0;
  for (;;) {
    auto r = api.get("/v1/events?topic=%3E&limit=1000&since=" + std::to_string(since));
    EXPECT_EQ(r.status, 200) << r.body;
    auto page = r.json();
    for (const auto& e : page["events"])
      out.insert(e["id"].get<std::string>());
    if (page["events"].empty() || page["next_since"].get<uint64_t>() == since)
      return out;
    since = page["next_since"];
  }
}

template <class Fn>
bool eventually(Fn done, std::chrono::seconds timeout = std::chrono::seconds{30}) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds{50});  // polling interval, not synchronisation
  }
  return true;
}

TEST(postgres_node, publishes_serves_history_and_delivers_webhooks_from_postgres) {
  temp_dir data;
  auto url = postgres_server::shared().create_database();
  receiver_process receiver;
  node_process node(data.path(), {"--store", url, "--allow-private-targets", "--retry-schedule", "0,0.1,0.1"});
  EXPECT_NE(node.output().find("store postgresql://evmesh@127.0.0.1"), std::string::npos) << node.output();
  api_client api(node.url(), node.admin_token());

  auto health = api.get("/healthz");
  EXPECT_EQ(health.status, 200) << health.body;
  EXPECT_EQ(health.json()["store"], url);

  auto ep = api.post("/v1/endpoints", {{"url", receiver.url()}, {"topics", {"orders.*"}}});
  ASSERT_EQ(ep.status, 201) << ep.body;
  std::set<std::string> published;
  for (int i = 0; i < 30; ++i) {
    auto r = api.post("/v1/events", {{"topic", "orders.created"}, {"data", {{"i", i}}}});
    ASSERT_EQ(r.status, 202) << r.body;
    published.insert(r.json()["id"].get<std::string>());
  }
  auto again = api.post("/v1/events", {{"topic", "orders.created"}, {"id", *published.begin()}, {"data", 1}});
  EXPECT_EQ(again.status, 202);
  EXPECT_TRUE(again.json().value("duplicate", false));
  EXPECT_EQ(history_ids(api), published);

  auto got = receiver.wait_until([&](const json& requests) { return requests.size() >= published.size(); });
  EXPECT_EQ(receiver_process::delivered_ids(got), published);

  // Each event's delivery state, the attempt log, and a replay (sent to
  // the node holding the endpoint's lease: the only one here).
  auto id = ep.json()["id"].get<std::string>();
  json status;
  EXPECT_TRUE(eventually([&] {  // once the progress is saved (every 200 ms)
    status = api.get("/v1/events/" + *published.begin()).json();
    return status["deliveries"].size() == 1 && status["deliveries"][0]["state"] == "delivered";
  })) << status.dump();
  EXPECT_TRUE(eventually([&] {
    return api.get("/v1/endpoints/" + id + "/attempts?limit=100").json()["attempts"].size() == published.size();
  }));
  auto replay = api.post("/v1/endpoints/" + id + "/replay", {{"since", 0}});
  ASSERT_EQ(replay.status, 202) << replay.body;
  EXPECT_EQ(replay.json()["queued"], published.size());
  got = receiver.wait_until([&](const json& requests) { return requests.size() >= 2 * published.size(); });
  EXPECT_EQ(got.size(), 2 * published.size());

  // Restarted on the same database, the node still has it all.
  EXPECT_EQ(node.stop(), 0);
  node_process again_node(data.path(), {"--store", url});
  api_client api2(again_node.url(), again_node.admin_token());
  EXPECT_EQ(history_ids(api2), published);
}

TEST(postgres_node, postgres_restarted_under_publish_load_loses_nothing) {
  temp_dir data;
  postgres_server server;  // its own: this test stops it
  auto url = server.create_database();
  receiver_process receiver;
  node_process node(data.path(), {"--store", url, "--allow-private-targets", "--delivery-lease", "2"});
  api_client api(node.url(), node.admin_token());
  auto endpoint = api.post("/v1/endpoints", {{"url", receiver.url()}, {"topics", {"load.*"}}});
  ASSERT_EQ(endpoint.status, 201) << endpoint.body;

  std::atomic<bool> done{false};
  std::atomic<int> accepted_count{0}, refused_count{0};
  std::set<std::string> accepted;
  std::vector<std::string> bad_answers;
  std::thread client([&] {
    api_client publisher(node.url(), node.admin_token());
    for (int i = 0; !done; ++i) {
      auto id = "load-" + std::to_string(i);
      auto r = publisher.post("/v1/events", {{"topic", "load.x"}, {"id", id}, {"data", {{"i", i}}}});
      if (r.status == 202) {
        accepted.insert(id);
        ++accepted_count;
      } else if (r.status == 503 && r.headers.count("Retry-After")) {
        ++refused_count;
      } else {
        bad_answers.push_back(std::to_string(r.status) + " " + r.body);
      }
    }
  });

  ASSERT_TRUE(eventually([&] { return accepted_count >= 50; }));
  server.stop();
  EXPECT_TRUE(eventually([&] { return refused_count > 0; }));
  auto health = api.get("/healthz");
  EXPECT_EQ(health.status, 503) << health.body;
  EXPECT_FALSE(health.json().value("reason", "").empty()) << health.body;
  auto metrics = api.get("/metrics").body;
  EXPECT_NE(metrics.find("evmesh_store_up 0"), std::string::npos);

  server.start();
  int before = accepted_count;
  EXPECT_TRUE(eventually([&] { return accepted_count >= before + 50; }, std::chrono::seconds{60}))
    << "the node did not recover by itself";
  done = true;
  client.join();

  EXPECT_TRUE(bad_answers.empty()) << bad_answers.front();
  EXPECT_GT(refused_count, 0);
  EXPECT_TRUE(eventually([&] { return api.get("/healthz").status == 200; }));
  auto stored = history_ids(api);
  for (const auto& id : accepted)
    EXPECT_TRUE(stored.count(id)) << id << " was answered 202 but is not in the history";
  EXPECT_NE(api.get("/metrics").body.find("evmesh_store_up 1"), std::string::npos);

  // Webhook deliveries paused with the store and resumed by themselves:
  // every accepted event reaches the endpoint.
  auto got = receiver.wait_until([&](const json& requests) {
    auto delivered = receiver_process::delivered_ids(requests);
    return std::includes(delivered.begin(), delivered.end(), accepted.begin(), accepted.end());
  });
  auto delivered = receiver_process::delivered_ids(got);
  for (const auto& id : accepted)
    EXPECT_TRUE(delivered.count(id)) << id << " was answered 202 but never delivered";
}

} // namespace
