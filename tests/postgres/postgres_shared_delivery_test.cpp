// The shared delivery queue (docs/STORAGE.md): three `evmesh node` processes
// on one PostgreSQL, clustered, one webhook endpoint with window 1. Exactly
// one node holds the endpoint's lease and delivers the events published on
// all three. It is killed with SIGKILL mid-stream, with retries open (the
// receiver fails a tenth of the requests), and is not started again: a
// survivor takes the lease over and delivers every event any node accepted
// (202) — the dead node's too, from its log in the database — and each
// node's events arrive first in the order they were published.
#include "support/api_client.hpp"
#include "support/cluster_helpers.hpp"
#include "support/node_process.hpp"
#include "support/postgres_server.hpp"
#include "support/webhook_receiver.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

namespace evmesh::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
constexpr auto delivered_ids = &receiver_process::delivered_ids;

const std::string token = "shared-delivery-test-token";

std::vector<std::string> args(const std::string& name, const std::string& store, const std::string& join) {
  std::string schedule = "0";  // 40 quick attempts: at 10 % failures none runs out (0.1^40)
  for (int i = 1; i < 40; ++i)
    schedule += ",0.01";
  std::vector<std::string> a{"--name", name, "--store", store, "--admin-token", token, "--heartbeat", "100",
                             "--delivery-lease", "2", "--allow-private-targets", "--retry-schedule", schedule};
  if (!join.empty())
    a.insert(a.end(), {"--join", join});
  return a;
}

// The nodes running a delivery actor for the endpoint.
std::vector<std::string> holders(std::map<std::string, std::unique_ptr<node_process>>& nodes,
                                 const std::set<std::string>& alive) {
  std::vector<std::string> out;
  for (const auto& name : alive)
    if (metric(*nodes[name], "evmesh_webhook_endpoints") == 1)
      out.push_back(name);
  return out;
}

// Publishes 400 events to one node in batches of 5, one batch every 20 ms,
// until told to stop; remembers what was accepted, in order.
class publisher {
public:
  publisher(const node_process& node, std::string name) : url_(node.url()), name_(std::move(name)) {
    thread_ = std::thread([this] { run(); });
  }
  ~publisher() { stop(); }
  void stop() {
    stopping_ = true;
    if (thread_.joinable())
      thread_.join();
  }
  std::vector<std::string> accepted() {
    std::lock_guard lock(mutex_);
    return accepted_;
  }

private:
  void run() {
    api_client c(url_, token);
    for (int i = 0; !stopping_ && i < 400; i += 5) {
      json batch = json::array();
      for (int k = i; k < i + 5; ++k)
        batch.push_back({{"topic", "orders.created"}, {"data", {{"node", name_}, {"i", k}}}});
      try {
        auto r = c.post("/v1/events", batch);
        if (r.status != 202)
          continue;
        std::lock_guard lock(mutex_);
        for (const auto& ack : r.json())
          accepted_.push_back(ack["id"]);
      } catch (const std::exception&) {
        return;  // the node is gone
      }
      std::this_thread::sleep_for(20ms);  // a steady stream, not a flood
    }
  }

  std::string url_;
  std::string name_;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::vector<std::string> accepted_;
  std::thread thread_;
};

TEST(shared_delivery, a_survivor_delivers_everything_the_killed_holder_and_the_others_accepted) {
  auto store = postgres_server::shared().create_database();
  temp_dir da, db, dc;
  std::map<std::string, std::unique_ptr<node_process>> nodes;
  nodes["a"] = std::make_unique<node_process>(da.path(), args("a", store, ""));
  auto seed = nodes["a"]->cluster_address();
  nodes["b"] = std::make_unique<node_process>(db.path(), args("b", store, seed));
  nodes["c"] = std::make_unique<node_process>(dc.path(), args("c", store, seed));
  std::set<std::string> alive{"a", "b", "c"};
  for (auto& [name, n] : nodes)
    ASSERT_TRUE(eventually([&] { return cluster_state(*n, token).value("live", json::array()).size() == 3; })) << name;

  receiver_process receiver({"--fail-percent", "10"});
  auto created = api_client(nodes["b"]->url(), token)
                   .post("/v1/endpoints", {{"url", receiver.url()}, {"topics", {"orders.*"}}, {"max_in_flight", 1}});
  ASSERT_EQ(created.status, 201) << created.body;
  // One holder, whichever node wins the lease.
  ASSERT_TRUE(eventually([&] { return holders(nodes, alive).size() == 1; }, 20s));

  std::map<std::string, std::unique_ptr<publisher>> publishers;
  for (auto& [name, n] : nodes)
    publishers[name] = std::make_unique<publisher>(*n, name);
  // Mid-stream: deliveries are flowing, from every node.
  ASSERT_TRUE(eventually([&] { return delivered_ids(receiver.received()["requests"]).size() >= 100; }, 60s));
  ASSERT_TRUE(eventually([&] { return holders(nodes, alive).size() == 1; }, 20s));
  auto holder = holders(nodes, alive)[0];
  auto delivered_before_kill = delivered_ids(receiver.received()["requests"]).size();
  nodes[holder]->kill9();
  auto killed_at = std::chrono::steady_clock::now();
  alive.erase(holder);
  publishers[holder]->stop();

  // A survivor takes the endpoint over (after the lease ran out), and only one.
  ASSERT_TRUE(eventually([&] { return holders(nodes, alive).size() == 1; }, 30s));
  auto took_over_after =
    std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - killed_at);
  auto successor = holders(nodes, alive)[0];
  EXPECT_NE(successor, holder);
  std::cout << "[ info ] " << successor << " took over from " << holder << " after " << took_over_after.count()
            << " ms (lease 2000 ms)\n";
  for (auto& [name, p] : publishers)
    p->stop();  // each has published all of its events by now, or is about to

  std::set<std::string> accepted;
  std::map<std::string, std::size_t> accepted_by_node;
  for (auto& [name, p] : publishers) {
    auto ids = p->accepted();
    accepted.insert(ids.begin(), ids.end());
    accepted_by_node[name] = ids.size();
  }
  ASSERT_GT(accepted_by_node[holder], 0u);
  std::cout << "[ info ] " << delivered_before_kill << " delivered before the kill; accepted: a " << accepted_by_node["a"]
            << ", b " << accepted_by_node["b"] << ", c " << accepted_by_node["c"] << "\n";
  auto got = receiver.wait_until([&](const json& requests) {
    auto have = delivered_ids(requests);
    return std::includes(have.begin(), have.end(), accepted.begin(), accepted.end());
  }, 120s);
  auto have = delivered_ids(got);
  std::map<std::string, std::size_t> missing;
  for (auto& [name, p] : publishers)
    for (const auto& id : p->accepted())
      missing[name] += have.count(id) ? 0 : 1;
  for (const auto& [name, count] : missing)
    EXPECT_EQ(count, 0u) << "not delivered of the " << accepted_by_node[name] << " events " << name
                         << " accepted (" << holder << " was killed)";

  // The delivery state of an event, asked on a node that received it from
  // the node it was published on: kept under that node's log.
  std::string third;
  for (const auto& name : alive)
    if (name != successor)
      third = name;
  auto from_third = publishers[third]->accepted().front();
  json status;
  EXPECT_TRUE(eventually([&] {
    status = api_client(nodes[successor]->url(), token).get("/v1/events/" + from_third).json();
    return status.value("deliveries", json::array()).size() == 1 && status["deliveries"][0]["state"] == "delivered";
  })) << status.dump();

  // Each node's events are first delivered in the order it accepted them,
  // across the takeover (window 1: a failing event holds back the rest).
  std::map<std::string, int> last_first_delivery;
  std::set<std::string> seen;
  for (const auto& r : got) {
    if (r["answered"] != 200 || !seen.insert(r["id"].get<std::string>()).second)
      continue;
    auto data = json::parse(r["body"].get<std::string>())["data"];
    auto node = data["node"].get<std::string>();
    int i = data["i"];
    if (last_first_delivery.count(node))
      EXPECT_GT(i, last_first_delivery[node]) << "from node " << node;
    last_first_delivery[node] = i;
  }
}

} // namespace
} // namespace evmesh::test
