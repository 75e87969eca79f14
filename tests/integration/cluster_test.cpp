// Three real `evmesh node` processes linked over ZeroMQ on loopback: events
// published on A reach `evmesh tail` subscribers on B and C exactly once and
// in publish order; a node killed with SIGKILL and restarted rejoins and its
// subscribers resume from its history with nothing lost; a node frozen with
// SIGSTOP mid-stream misses nothing after SIGCONT; a node with the wrong
// cluster key is refused; garbage from a raw socket does not hurt a node; a
// registry delete reaches every node, including one that was down.
#include "support/api_client.hpp"
#include "support/cluster_helpers.hpp"
#include "support/node_process.hpp"

#include <gtest/gtest.h>

#include <zmq.hpp>

#include <random>
#include <thread>

namespace evmesh::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

const std::string token = "cluster-test-admin-token";

// Node names must differ within a cluster (events are stored per origin name).
std::vector<std::string> node_args(const std::string& name, const std::vector<std::string>& join,
                                   std::vector<std::string> more = {}) {
  std::vector<std::string> args{"--name", name, "--admin-token", token, "--heartbeat", "100"};
  if (!join.empty()) {
    std::string seeds;
    for (const auto& s : join)
      seeds += (seeds.empty() ? "" : ",") + s;
    args.insert(args.end(), {"--join", seeds});
  }
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

json cluster_state(const node_process& n) { return evmesh::test::cluster_state(n, token); }
std::size_t alive_members(const node_process& n) { return evmesh::test::alive_members(n, token); }
bool peer_wants(const node_process& n, const std::string& peer, const std::string& pattern) {
  return evmesh::test::peer_wants(n, token, peer, pattern);
}

// Publishes events numbered first..last on `topic` in batches of `batch`;
// every batch is acknowledged (durable on the publishing node).
void publish_range(const node_process& n, const std::string& topic, int first, int last, int batch = 50) {
  api_client c(n.url(), token);
  for (int from = first; from <= last; from += batch) {
    json events = json::array();
    for (int i = from; i <= std::min(last, from + batch - 1); ++i)
      events.push_back({{"topic", topic}, {"data", {{"n", i}}}});
    auto r = c.post("/v1/events", events);
    ASSERT_EQ(r.status, 202) << r.body;
  }
}

// `evmesh tail` on a node, read line by line.
struct tail_process {
  tail_process(const node_process& n, const std::string& pattern, std::optional<uint64_t> since = {})
      : cmd(args(n, pattern, since)) {}
  static std::vector<std::string> args(const node_process& n, const std::string& pattern,
                                       std::optional<uint64_t> since) {
    std::vector<std::string> a{"tail", pattern, "--url", n.url(), "--token", token};
    if (since)
      a.insert(a.end(), {"--since", std::to_string(*since)});
    return a;
  }
  // Reads events until `count` arrived; returns them (fewer on a stall).
  std::vector<json> take(std::size_t count, std::chrono::milliseconds stall = 30s) {
    std::vector<json> out;
    while (out.size() < count) {
      auto line = cmd.next_line(stall);
      if (!line)
        break;
      out.push_back(json::parse(*line));
    }
    return out;
  }
  running_command cmd;
};

// The events' n values must be exactly first..last, in order.
void expect_numbers(const std::vector<json>& events, int first, int last, const std::string& who) {
  ASSERT_EQ(events.size(), static_cast<std::size_t>(last - first + 1)) << who;
  for (std::size_t i = 0; i < events.size(); ++i)
    ASSERT_EQ(events[i]["data"]["n"].get<int>(), first + static_cast<int>(i))
      << who << ": event " << i << " out of order or duplicated";
}

struct three_nodes {
  temp_dir da, db, dc;
  std::unique_ptr<node_process> a, b, c;
  three_nodes() {
    a = std::make_unique<node_process>(da.path(), node_args("a", {}));
    b = std::make_unique<node_process>(db.path(), node_args("b", {a->cluster_address()}));
    c = std::make_unique<node_process>(dc.path(), node_args("c", {a->cluster_address()}));
    for (auto* n : {a.get(), b.get(), c.get()})
      EXPECT_TRUE(eventually([&] { return alive_members(*n) == 2; })) << cluster_state(*n).dump();
  }
};

TEST(Cluster, members_see_each_other_and_cluster_state_is_admin_only) {
  three_nodes t;
  auto state = cluster_state(*t.b);
  EXPECT_EQ(state["self"]["addr"], t.b->cluster_address());
  EXPECT_EQ(state["live"].size(), 3u);
  api_client anonymous(t.a->url(), "");
  EXPECT_EQ(anonymous.get("/v1/cluster").status, 401);
  api_client a(t.a->url(), token);
  auto sub = a.post("/v1/tokens", {{"scopes", {"subscribe:>"}}}).json()["token"].get<std::string>();
  EXPECT_EQ(api_client(t.a->url(), sub).get("/v1/cluster").status, 403);
  // Every node computes the same owner for a key.
  auto owner = a.get("/v1/cluster?owner_of=ep_1").json()["owner"];
  EXPECT_EQ(api_client(t.c->url(), token).get("/v1/cluster?owner_of=ep_1").json()["owner"], owner);
  EXPECT_EQ(metric(*t.a, "evmesh_cluster_members_alive"), 2u);
  auto text = api_client(t.a->url(), "").get("/metrics").body;
  EXPECT_NE(text.find("evmesh_cluster_member_state{name=\"b\",addr=\"" + t.b->cluster_address() +
                      "\",state=\"alive\"} 1"), std::string::npos) << text;
}

TEST(Cluster, a_node_stopped_with_sigterm_leaves_and_a_restart_rejoins) {
  three_nodes t;
  auto c_addr = t.c->cluster_address();
  EXPECT_EQ(t.c->stop(), 0) << t.c->output();
  auto state_of_c = [&] {
    auto state = cluster_state(*t.a);
    for (const auto& m : state.value("members", json::array()))
      if (m["addr"] == c_addr)
        return m["state"].get<std::string>();
    return std::string{};
  };
  EXPECT_TRUE(eventually([&] { return state_of_c() == "left"; })) << cluster_state(*t.a).dump();
  EXPECT_EQ(cluster_state(*t.a)["live"].size(), 2u);
  t.c = std::make_unique<node_process>(t.dc.path(), node_args("c", {t.b->cluster_address()}, {"--cluster", c_addr}));
  EXPECT_TRUE(eventually([&] { return state_of_c() == "alive"; }));
}

TEST(Cluster, events_published_on_a_reach_subscribers_on_b_and_c_once_and_in_order) {
  three_nodes t;
  tail_process on_b(*t.b, "orders.>"), on_c(*t.c, "orders.>");
  ASSERT_TRUE(eventually([&] { return peer_wants(*t.a, "b", "orders.>") && peer_wants(*t.a, "c", "orders.>"); }));
  publish_range(*t.a, "orders.created", 1, 600);
  publish_range(*t.a, "invoices.created", 1, 10);  // wanted by nobody: stays on A
  expect_numbers(on_b.take(600), 1, 600, "subscriber on B");
  expect_numbers(on_c.take(600), 1, 600, "subscriber on C");
  // Each node stored the events it received once, with its own seqs.
  api_client b(t.b->url(), token);
  auto history = b.get("/v1/events?topic=orders.>&limit=1000").json()["events"];
  EXPECT_EQ(history.size(), 600u);
  EXPECT_TRUE(b.get("/v1/events?topic=invoices.>").json()["events"].empty());
}

TEST(Cluster, a_killed_node_rejoins_and_its_subscribers_resume_without_loss) {
  three_nodes t;
  auto b_addr = t.b->cluster_address();
  uint64_t last_seq = 0;
  {
    tail_process on_b(*t.b, "orders.>");
    ASSERT_TRUE(eventually([&] { return peer_wants(*t.a, "b", "orders.>"); }));
    publish_range(*t.a, "orders.created", 1, 200);
    auto first = on_b.take(200);
    expect_numbers(first, 1, 200, "B before the kill");
    last_seq = first.back()["seq"].get<uint64_t>();
  }
  publish_range(*t.a, "orders.created", 201, 300);  // B may or may not have these yet
  t.b->kill9();
  ASSERT_TRUE(eventually([&] { return alive_members(*t.a) == 1; }));
  publish_range(*t.a, "orders.created", 301, 500);  // while B is down
  t.b = std::make_unique<node_process>(t.db.path(), node_args("b", {t.a->cluster_address()}, {"--cluster", b_addr}));
  ASSERT_TRUE(eventually([&] { return alive_members(*t.a) == 2 && alive_members(*t.b) == 2; }));
  tail_process resumed(*t.b, "orders.>", last_seq);
  publish_range(*t.a, "orders.created", 501, 600);
  expect_numbers(resumed.take(400), 201, 600, "B after restart, resuming after seq " + std::to_string(last_seq));
}

TEST(Cluster, a_node_frozen_mid_stream_misses_nothing) {
  three_nodes t;
  tail_process on_b(*t.b, "orders.>"), on_c(*t.c, "orders.>");
  ASSERT_TRUE(eventually([&] { return peer_wants(*t.a, "b", "orders.>") && peer_wants(*t.a, "c", "orders.>"); }));
  publish_range(*t.a, "orders.created", 1, 300);
  t.b->pause();
  // A notices the silence; it keeps publishing and C keeps receiving.
  EXPECT_TRUE(eventually([&] {
    auto state = cluster_state(*t.a);
    for (const auto& m : state.value("members", json::array()))
      if (m["name"] == "b" && m["state"] != "alive")
        return true;
    return false;
  })) << cluster_state(*t.a).dump();
  publish_range(*t.a, "orders.created", 301, 2000);
  expect_numbers(on_c.take(2000), 1, 2000, "C while B is frozen");
  t.b->resume();
  expect_numbers(on_b.take(2000), 1, 2000, "B after SIGCONT");
  EXPECT_TRUE(eventually([&] { return alive_members(*t.a) == 2; }));
}

TEST(Cluster, tokens_created_on_any_node_work_on_every_node_including_later_joiners) {
  three_nodes t;
  api_client on_b(t.b->url(), token);
  auto created = on_b.post("/v1/tokens", {{"scopes", {"publish:orders.*", "subscribe:orders.>"}}});
  ASSERT_EQ(created.status, 201) << created.body;
  auto scoped = created.json()["token"].get<std::string>();
  auto publishes_on = [&](const node_process& n) {
    api_client c(n.url(), scoped);
    return c.post("/v1/events", {{"topic", "orders.created"}, {"data", 1}}).status == 202;
  };
  EXPECT_TRUE(eventually([&] { return publishes_on(*t.a) && publishes_on(*t.c); }));
  // Scopes travel with the token: outside them it is still 403 elsewhere.
  EXPECT_EQ(api_client(t.c->url(), scoped).post("/v1/events", {{"topic", "invoices.x"}, {"data", 1}}).status, 403);
  // A node that joins later catches up from its peers' logs.
  temp_dir dd;
  node_process d(dd.path(), node_args("d", {t.c->cluster_address()}));
  EXPECT_TRUE(eventually([&] { return publishes_on(d); }));
  // Registry events are the cluster's own: no subscriber, history or publisher sees them.
  api_client admin_a(t.a->url(), token);
  EXPECT_TRUE(admin_a.get("/v1/events?topic=evmesh.>").json()["events"].empty());
  EXPECT_EQ(admin_a.post("/v1/events", {{"topic", "evmesh.registry.token"}, {"data", 1}}).status, 400);
}

TEST(Cluster, a_delete_reaches_every_node_including_one_that_was_down) {
  three_nodes t;
  api_client on_a(t.a->url(), token);
  auto created = on_a.post("/v1/endpoints", {{"url", "https://hooks.example.com/x"}, {"topics", {"orders.*"}}});
  ASSERT_EQ(created.status, 201) << created.body;
  auto path = "/v1/endpoints/" + created.json()["id"].get<std::string>();
  auto status_on = [&](const node_process& n) { return api_client(n.url(), token).get(path).status; };
  ASSERT_TRUE(eventually([&] { return status_on(*t.b) == 200 && status_on(*t.c) == 200; }));
  auto c_addr = t.c->cluster_address();
  t.c->kill9();
  ASSERT_EQ(api_client(t.b->url(), token).call(boost::beast::http::verb::delete_, path, "").status, 204);
  EXPECT_TRUE(eventually([&] { return status_on(*t.a) == 404; })) << "the delete did not reach A";
  // C missed the delete; after a restart it learns it from its peers.
  t.c = std::make_unique<node_process>(t.dc.path(), node_args("c", {t.a->cluster_address()}, {"--cluster", c_addr}));
  EXPECT_TRUE(eventually([&] { return status_on(*t.c) == 404; })) << "C kept the deleted endpoint";
  // A delete is final: restarting A does not bring the endpoint back.
  auto a_addr = t.a->cluster_address();
  t.a->stop();
  t.a = std::make_unique<node_process>(t.da.path(), node_args("a", {t.b->cluster_address()}, {"--cluster", a_addr}));
  EXPECT_EQ(status_on(*t.a), 404);
}

TEST(Cluster, a_node_without_the_cluster_key_is_refused) {
  temp_dir da, db, dc;
  node_process a(da.path(), node_args("a", {}, {"--cluster-key", "right secret"}));
  node_process wrong(db.path(), node_args("wrong", {a.cluster_address()}, {"--cluster-key", "wrong secret"}));
  node_process right(dc.path(), node_args("right", {a.cluster_address()}, {"--cluster-key", "right secret"}));
  ASSERT_TRUE(eventually([&] { return alive_members(right) == 1 && alive_members(a) == 1; }));
  EXPECT_TRUE(eventually([&] {
    auto refused = metric(a, "evmesh_cluster_peers_refused_total");
    return refused != ~uint64_t{0} && refused > 0;
  }));
  EXPECT_EQ(alive_members(wrong), 0u) << cluster_state(wrong).dump();
  auto state = cluster_state(a);
  for (const auto& m : state["members"])
    EXPECT_FALSE(m["addr"] == wrong.cluster_address() && m["state"] == "alive") << m.dump();
  EXPECT_EQ(a.output().find("right secret"), std::string::npos) << "the key must never be logged";
}

TEST(Cluster, garbage_from_a_raw_socket_is_refused_and_the_node_keeps_serving) {
  temp_dir da, db;
  node_process a(da.path(), node_args("a", {}));
  node_process b(db.path(), node_args("b", {a.cluster_address()}));
  zmq::context_t ctx;
  zmq::socket_t raw{ctx, zmq::socket_type::dealer};
  raw.set(zmq::sockopt::linger, 0);
  raw.connect("tcp://" + a.cluster_address());
  std::mt19937 rng{12345};
  for (int i = 0; i < 2000; ++i) {
    std::string bytes(rng() % 64, '\0');
    for (auto& ch : bytes)
      ch = static_cast<char>(rng());
    if (rng() % 3 == 0)  // an events frame header with a garbage batch part
      raw.send(zmq::buffer(std::string("\x93\x03\x01\x00", 4)), zmq::send_flags::sndmore);
    raw.send(zmq::buffer(bytes), zmq::send_flags::none);
  }
  ASSERT_TRUE(eventually([&] {
    auto refused = metric(a, "evmesh_cluster_frames_refused_total");
    return refused != ~uint64_t{0} && refused >= 1000;
  }));
  // Still a working member: events reach B.
  tail_process on_b(b, "orders.>");
  ASSERT_TRUE(eventually([&] { return peer_wants(a, "b", "orders.>"); }));
  publish_range(a, "orders.created", 1, 20);
  expect_numbers(on_b.take(20), 1, 20, "B after the garbage");
}

} // namespace
} // namespace evmesh::test
