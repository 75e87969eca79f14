// What was acknowledged survives: a node killed with SIGKILL while clients
// publish comes back with every acknowledged event, under the same seq, and
// still refuses to store an acknowledged id twice. A SIGTERM stop exits 0.
#include "support/api_client.hpp"
#include "support/node_process.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

namespace evmesh::test {
namespace {

using nlohmann::json;

TEST(Durability, KillNineAfterAckLosesNothing) {
  temp_dir dir;
  std::map<std::string, uint64_t> acked;  // id → seq
  std::mutex acked_lock;
  {
    node_process node(dir.path());
    const auto token = node.admin_token();
    std::atomic<bool> stop{false};
    std::atomic<int> acks{0};
    std::vector<std::thread> publishers;
    for (int t = 0; t < 8; ++t) {
      publishers.emplace_back([&, t] {
        api_client c(node.url(), token);
        for (int i = 0; i < 100000 && !stop; ++i) {
          json batch = json::array();
          for (int j = 0; j < 5; ++j)
            batch.push_back({{"topic", "durable.t" + std::to_string(t)}, {"data", {{"i", i}, {"j", j}}}});
          api_response r;
          try {
            r = c.post("/v1/events", batch);
          } catch (const std::exception&) {
            return;  // the node died under us: this batch was never acknowledged
          }
          if (r.status != 202)
            return;
          std::lock_guard<std::mutex> hold(acked_lock);
          for (const auto& ack : r.json())
            acked[ack["id"].get<std::string>()] = ack["seq"].get<uint64_t>();
          acks += 5;
        }
      });
    }
    // Kill once plenty was acknowledged, while the publishers are still going.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{120};
    while (acks < 3000 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::yield();
    node.kill9();
    stop = true;
    for (auto& p : publishers)
      p.join();
  }
  ASSERT_GE(acked.size(), 3000u);

  node_process restarted(dir.path());
  api_client c(restarted.url(), restarted.admin_token());
  std::map<std::string, uint64_t> stored;
  uint64_t since = 0;
  for (int page = 0; page < 10000; ++page) {
    auto body = c.get("/v1/events?topic=durable.>&limit=1000&since=" + std::to_string(since)).json();
    for (const auto& e : body["events"])
      stored[e["id"].get<std::string>()] = e["seq"].get<uint64_t>();
    if (body["next_since"].get<uint64_t>() == since)
      break;
    since = body["next_since"].get<uint64_t>();
  }
  std::size_t missing = 0;
  for (const auto& [id, seq] : acked) {
    auto it = stored.find(id);
    if (it == stored.end() || it->second != seq)
      ++missing;
  }
  EXPECT_EQ(missing, 0u) << "of " << acked.size() << " acknowledged events";

  // An acknowledged id is still known after the crash: not stored twice.
  const auto& [some_id, some_seq] = *acked.begin();
  auto again = c.post("/v1/events", {{"topic", "durable.t0"}, {"data", 0}, {"id", some_id}});
  ASSERT_EQ(again.status, 202);
  EXPECT_EQ(again.json()["seq"].get<uint64_t>(), some_seq);
  EXPECT_EQ(again.json()["duplicate"], true);

  // New events continue the log after everything stored.
  uint64_t highest = 0;
  for (const auto& [id, seq] : stored)
    highest = std::max(highest, seq);
  auto next = c.post("/v1/events", {{"topic", "durable.after"}, {"data", 1}}).json();
  EXPECT_GT(next["seq"].get<uint64_t>(), highest);
  EXPECT_EQ(restarted.stop(), 0) << restarted.output();
}

TEST(Durability, SigtermStopsCleanlyAndKeepsEverything) {
  temp_dir dir;
  uint64_t last_seq = 0;
  {
    node_process node(dir.path());
    api_client c(node.url(), node.admin_token());
    for (int i = 0; i < 20; ++i)
      last_seq = c.post("/v1/events", {{"topic", "term.t"}, {"data", i}}).json()["seq"].get<uint64_t>();
    EXPECT_EQ(node.stop(), 0);
    auto out = node.output();
    EXPECT_NE(out.find("SIGTERM, stopping"), std::string::npos) << out;
    EXPECT_NE(out.find("evmesh: stopped"), std::string::npos) << out;
  }
  node_process node(dir.path());
  api_client c(node.url(), node.admin_token());
  auto events = c.get("/v1/events?topic=term.t").json()["events"];
  ASSERT_EQ(events.size(), 20u);
  EXPECT_EQ(events.back()["seq"].get<uint64_t>(), last_seq);
  EXPECT_EQ(node.stop(), 0);
}

} // namespace
} // namespace evmesh::test
