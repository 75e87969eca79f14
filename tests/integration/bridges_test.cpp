// WebSocket bridges against a real local WebSocket server (Node's ws,
// tests/support/ws_test_server.js): an inbound bridge sends its subscribe
// messages and publishes what arrives, and reconnects by itself after the
// server drops it and after the server stops and comes back on the same
// port; an outbound bridge forwards matching events in order and loses none
// published while the server was gone; wss:// with a self-signed
// certificate is refused by verification and the error shows in the API
// and /metrics; bad definitions get 400; in a two-node cluster exactly one
// node runs a bridge, and a deletion on the other node stops it.
#include "support/api_client.hpp"
#include "support/cluster_helpers.hpp"
#include "support/node_process.hpp"
#include "support/ws_test_server.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

namespace evmesh::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

const std::string token = "bridges-test-token";

std::vector<std::string> node_args(std::vector<std::string> more = {}) {
  std::vector<std::string> a{"--admin-token", token, "--allow-private-targets", "--bridge-backoff-min", "0.2",
                             "--bridge-backoff-max", "1"};
  a.insert(a.end(), more.begin(), more.end());
  return a;
}

json get(const node_process& n, const std::string& target) {
  auto r = api_client(n.url(), token).get(target);
  return r.status == 200 ? r.json() : json::object();
}

std::string create(const node_process& n, const json& definition) {
  auto r = api_client(n.url(), token).post("/v1/bridges", definition);
  EXPECT_EQ(r.status, 201) << r.body;
  return r.status == 201 ? r.json()["id"].get<std::string>() : std::string{};
}

// The data of every retained event on `topic`, oldest first.
std::vector<json> history(const node_process& n, const std::string& topic) {
  std::vector<json> out;
  for (const auto& e : get(n, "/v1/events?topic=" + topic + "&limit=1000").value("events", json::array()))
    out.push_back(e["data"]);
  return out;
}

// A labelled sample from /metrics (`name{labels}`); -1 when absent.
double sample(const node_process& n, const std::string& series) {
  auto body = api_client(n.url(), "").get("/metrics").body;
  auto pos = body.find("\n" + series + " ");
  return pos == std::string::npos ? -1 : std::stod(body.substr(pos + series.size() + 2));
}

std::string labels(const std::string& id, const std::string& direction) {
  return "{bridge=\"" + id + "\",direction=\"" + direction + "\"}";
}

std::vector<json> numbered(int first, int last) {
  std::vector<json> out;
  for (int n = first; n <= last; ++n)
    out.push_back(json{{"n", n}});
  return out;
}

std::size_t count_of(const std::vector<std::string>& messages, const std::string& text) {
  return static_cast<std::size_t>(std::count(messages.begin(), messages.end(), text));
}

class Bridges : public ::testing::Test {
protected:
  void SetUp() override {
    if (!node_ws_available())
      GTEST_SKIP() << "node and node-ws are not installed (bash scripts/install-deps.sh)";
  }
};

TEST_F(Bridges, inbound_publishes_every_message_and_reconnects_after_drops_and_restarts) {
  ws_test_server server;
  temp_dir dir;
  node_process n(dir.path(), node_args());
  const std::string subscribe = R"({"channel":"ticks","op":"subscribe"})";
  auto id = create(n, {{"url", "ws://127.0.0.1:" + std::to_string(server.port()) + "/feed?v=1"},
                       {"direction", "inbound"},
                       {"topic", "ext.ticks"},
                       {"subscribe", {json{{"op", "subscribe"}, {"channel", "ticks"}}}},
                       {"headers", {{"X-Api-Key", "sekrit-key-123"}}}});
  ASSERT_FALSE(id.empty());

  // Connected: the subscribe message and the header reached the server; the
  // API shows the state and masks the header.
  ASSERT_TRUE(eventually([&] { return count_of(server.received(), subscribe) == 1; }));
  EXPECT_EQ(server.state()["headers"]["x-api-key"], "sekrit-key-123");
  ASSERT_TRUE(eventually([&] { return get(n, "/v1/bridges/" + id)["state"] == "connected"; }));
  auto view = get(n, "/v1/bridges/" + id);
  EXPECT_EQ(view["headers"]["X-Api-Key"], "***");
  EXPECT_EQ(view["connects"], 1);
  EXPECT_FALSE(view["owner"].get<std::string>().empty());

  server.control("/send?count=5");
  ASSERT_TRUE(eventually([&] { return history(n, "ext.ticks") == numbered(1, 5); })) << json(history(n, "ext.ticks"));

  // The server drops the connection: the bridge reconnects, subscribes
  // again, and what the server sends next arrives.
  server.control("/drop");
  ASSERT_TRUE(eventually([&] { return count_of(server.received(), subscribe) == 2 && server.state()["open"] == 1; }));
  server.control("/send?count=5");
  ASSERT_TRUE(eventually([&] { return history(n, "ext.ticks") == numbered(1, 10); })) << json(history(n, "ext.ticks"));

  // The server goes away entirely: the bridge backs off and says why ...
  server.control("/stop");
  ASSERT_TRUE(eventually([&] {
    auto b = get(n, "/v1/bridges/" + id);
    return b["state"] == "backing_off" && b["last_error"].is_string() &&
           b["last_error"].get<std::string>().find("cannot connect") != std::string::npos;
  })) << get(n, "/v1/bridges/" + id);
  EXPECT_EQ(sample(n, "evmesh_bridge_state{bridge=\"" + id + "\",direction=\"inbound\",state=\"backing_off\"}"), 1);
  // ... and reconnects by itself when it is back on the same port.
  server.control("/start");
  ASSERT_TRUE(eventually([&] { return count_of(server.received(), subscribe) == 3 && server.state()["open"] == 1; }));
  server.control("/send?count=5");
  ASSERT_TRUE(eventually([&] { return history(n, "ext.ticks") == numbered(1, 15); })) << json(history(n, "ext.ticks"));

  // Text that is not JSON arrives as a JSON string.
  server.control("/send?count=1&raw=1");
  ASSERT_TRUE(eventually([&] { return history(n, "ext.ticks").size() == 16; }));
  EXPECT_EQ(history(n, "ext.ticks").back(), "tick 16");

  // Counters reach the manager at most 100 ms late.
  EXPECT_TRUE(eventually([&] { return sample(n, "evmesh_bridge_events_published_total" + labels(id, "inbound")) == 16; }));
  EXPECT_EQ(sample(n, "evmesh_bridge_connects_total" + labels(id, "inbound")), 3);
  EXPECT_EQ(sample(n, "evmesh_bridge_state{bridge=\"" + id + "\",direction=\"inbound\",state=\"connected\"}"), 1);
  EXPECT_GE(sample(n, "evmesh_bridge_errors_total" + labels(id, "inbound")), 2);
  EXPECT_EQ(n.output().find("sekrit-key-123"), std::string::npos) << "a header value was logged";
  EXPECT_EQ(n.output().find("/feed?v=1"), std::string::npos) << "the URL's path and query were logged";

  // Disabled: the connection closes and nothing more arrives.
  auto patched = api_client(n.url(), token).call(boost::beast::http::verb::patch, "/v1/bridges/" + id,
                                                 json{{"disabled", true}}.dump());
  ASSERT_EQ(patched.status, 200) << patched.body;
  ASSERT_TRUE(eventually([&] { return server.state()["open"] == 0; }));
  EXPECT_EQ(get(n, "/v1/bridges/" + id)["state"], "disabled");
}

TEST_F(Bridges, outbound_forwards_matching_events_in_order_and_loses_none_while_the_server_is_gone) {
  ws_test_server server;
  temp_dir dir;
  node_process n(dir.path(), node_args());
  auto id = create(n, {{"url", "ws://127.0.0.1:" + std::to_string(server.port()) + "/in"},
                       {"direction", "outbound"},
                       {"topics", {"orders.*", "orders.created"}}});  // overlapping: each event once
  ASSERT_TRUE(eventually([&] { return get(n, "/v1/bridges/" + id)["state"] == "connected"; }));
  api_client c(n.url(), token);
  auto publish = [&](int first, int last) {
    json batch = json::array();
    for (int i = first; i <= last; ++i) {
      batch.push_back({{"topic", "orders.created"}, {"data", {{"i", i}}}});
      batch.push_back({{"topic", "payments.done"}, {"data", {{"i", i}}}});
    }
    ASSERT_EQ(c.post("/v1/events", batch).status, 202);
  };
  // The order numbers the server received, in order.
  auto received_orders = [&] {
    std::vector<int> out;
    for (const auto& text : server.received()) {
      auto m = json::parse(text);
      EXPECT_EQ(m["op"], "event");
      EXPECT_EQ(m["topic"], "orders.created");
      out.push_back(m["data"]["i"].get<int>());
    }
    return out;
  };
  auto range = [](int first, int last) {
    std::vector<int> out;
    for (int i = first; i <= last; ++i)
      out.push_back(i);
    return out;
  };

  publish(1, 20);
  ASSERT_TRUE(eventually([&] { return received_orders().size() >= 20; }));
  EXPECT_EQ(received_orders(), range(1, 20));

  // Published while the server is down: queued, sent after it is back.
  server.control("/stop");
  ASSERT_TRUE(eventually([&] { return get(n, "/v1/bridges/" + id)["state"] == "backing_off"; }));
  publish(21, 40);
  ASSERT_TRUE(eventually([&] { return get(n, "/v1/bridges/" + id)["queued"] == 20; }));
  server.control("/start");
  ASSERT_TRUE(eventually([&] { return received_orders().size() >= 40; }));
  EXPECT_EQ(received_orders(), range(1, 40));

  // After a drop, later events arrive on the new connection.
  server.control("/drop");
  ASSERT_TRUE(eventually([&] { return get(n, "/v1/bridges/" + id)["connects"] == 3; }));
  publish(41, 50);
  ASSERT_TRUE(eventually([&] { return received_orders().size() >= 50; }));
  EXPECT_EQ(received_orders(), range(1, 50));
  EXPECT_TRUE(eventually([&] { return sample(n, "evmesh_bridge_messages_sent_total" + labels(id, "outbound")) == 50; }));
  EXPECT_EQ(sample(n, "evmesh_bridge_queued" + labels(id, "outbound")), 0);
}

TEST_F(Bridges, wss_with_a_self_signed_certificate_is_refused_and_the_error_is_visible) {
  temp_dir certs;
  auto cert = (certs.path() / "cert.pem").string();
  auto key = (certs.path() / "key.pem").string();
  auto made = std::system(("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost -keyout " + key +
                           " -out " + cert + " >/dev/null 2>&1")
                            .c_str());
  ASSERT_EQ(made, 0) << "openssl could not make a certificate";
  ws_test_server server({cert, key});
  temp_dir dir;
  node_process n(dir.path(), node_args());
  auto id = create(n, {{"url", "wss://localhost:" + std::to_string(server.port()) + "/"},
                       {"direction", "inbound"},
                       {"topic", "ext.secure"}});
  ASSERT_TRUE(eventually([&] {
    auto error = get(n, "/v1/bridges/" + id).value("last_error", json());
    return error.is_string() && error.get<std::string>().find("certificate verify failed") != std::string::npos;
  })) << get(n, "/v1/bridges/" + id);
  EXPECT_EQ(server.state()["connections"], 0);
  EXPECT_EQ(get(n, "/v1/bridges/" + id)["connects"], 0);
  EXPECT_GE(sample(n, "evmesh_bridge_errors_total" + labels(id, "inbound")), 1);
  EXPECT_EQ(sample(n, "evmesh_bridge_connects_total" + labels(id, "inbound")), 0);
}

TEST_F(Bridges, bad_definitions_are_refused_with_a_clear_detail) {
  temp_dir dir;
  node_process n(dir.path(), {"--admin-token", token});  // private targets refused
  api_client c(n.url(), token);
  auto detail_of = [&](const json& body) {
    auto r = c.post("/v1/bridges", body);
    EXPECT_EQ(r.status, 400) << body << " → " << r.body;
    return r.status == 400 ? r.json().value("detail", "") : std::string{};
  };
  auto has = [](const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; };
  const std::string url = "ws://example.com/feed";
  EXPECT_TRUE(has(detail_of({{"direction", "inbound"}, {"topic", "a.b"}}), "\"url\" is required"));
  EXPECT_TRUE(has(detail_of({{"url", "http://example.com/"}, {"direction", "inbound"}, {"topic", "a.b"}}),
                  "ws:// or wss://"));
  EXPECT_TRUE(has(detail_of({{"url", url}, {"topic", "a.b"}}), "\"direction\" is required"));
  EXPECT_TRUE(has(detail_of({{"url", url}, {"direction", "sideways"}, {"topic", "a.b"}}), "\"direction\" must be"));
  EXPECT_TRUE(has(detail_of({{"url", url}, {"direction", "inbound"}}), "\"topic\" is required"));
  EXPECT_TRUE(has(detail_of({{"url", url}, {"direction", "inbound"}, {"topic", "a.*"}}), "\"topic\" must be"));
  EXPECT_TRUE(has(detail_of({{"url", url}, {"direction", "inbound"}, {"topic", "a.b"}, {"topics", {"a.*"}}}),
                  "\"topics\" is for outbound"));
  EXPECT_TRUE(has(detail_of({{"url", url}, {"direction", "outbound"}}), "\"topics\" is required"));
  EXPECT_TRUE(has(detail_of({{"url", url}, {"direction", "outbound"}, {"topics", {"a.>.b"}}}), "\"topics\""));
  EXPECT_TRUE(has(detail_of({{"url", url}, {"direction", "inbound"}, {"topic", "a.b"}, {"subscribe", "x"}}),
                  "\"subscribe\" must be an array"));
  EXPECT_TRUE(has(detail_of({{"url", url}, {"direction", "inbound"}, {"topic", "a.b"},
                             {"headers", {{"Sec-WebSocket-Key", "x"}}}}),
                  "cannot be overridden"));
  EXPECT_TRUE(has(detail_of({{"url", url}, {"direction", "inbound"}, {"topic", "a.b"}, {"colour", "red"}}),
                  "unknown field \"colour\""));
  EXPECT_TRUE(has(detail_of({{"url", "ws://127.0.0.1:9/"}, {"direction", "inbound"}, {"topic", "a.b"}}),
                  "--allow-private-targets"));
  EXPECT_EQ(c.call(boost::beast::http::verb::post, "/v1/bridges", "{not json").status, 400);

  // A valid one; its direction is fixed; it goes away with DELETE.
  auto created = c.post("/v1/bridges", {{"url", url}, {"direction", "outbound"}, {"topics", {"a.*"}}, {"disabled", true}});
  ASSERT_EQ(created.status, 201) << created.body;
  auto id = created.json()["id"].get<std::string>();
  EXPECT_EQ(id.rfind("br_", 0), 0u);
  EXPECT_EQ(c.get("/v1/bridges").json()["bridges"].size(), 1u);
  auto patched = c.call(boost::beast::http::verb::patch, "/v1/bridges/" + id, json{{"direction", "inbound"}}.dump());
  EXPECT_EQ(patched.status, 400) << patched.body;
  EXPECT_EQ(c.call(boost::beast::http::verb::delete_, "/v1/bridges/" + id, "").status, 204);
  EXPECT_EQ(c.get("/v1/bridges/" + id).status, 404);
  EXPECT_EQ(c.get("/v1/bridges").json()["bridges"].size(), 0u);

  // Admin only.
  auto scoped = c.post("/v1/tokens", {{"scopes", {"publish:a.>"}}}).json()["token"].get<std::string>();
  EXPECT_EQ(api_client(n.url(), scoped).get("/v1/bridges").status, 403);
  EXPECT_EQ(api_client(n.url(), "").get("/v1/bridges").status, 401);
}

TEST_F(Bridges, a_two_node_cluster_runs_each_bridge_on_exactly_one_node) {
  ws_test_server server;
  temp_dir da, db;
  node_process a(da.path(), node_args({"--name", "a", "--heartbeat", "100"}));
  node_process b(db.path(), node_args({"--name", "b", "--heartbeat", "100", "--join", a.cluster_address()}));
  for (auto* n : {&a, &b})
    ASSERT_TRUE(eventually([&] { return get(*n, "/v1/cluster")["live"].size() == 2; }));

  auto id = create(a, {{"url", "ws://127.0.0.1:" + std::to_string(server.port()) + "/"},
                       {"direction", "inbound"},
                       {"topic", "ext.cluster"}});
  ASSERT_TRUE(eventually([&] { return get(b, "/v1/bridges/" + id).value("id", "") == id; }));
  auto owner = get(a, "/v1/bridges/" + id)["owner"].get<std::string>();
  EXPECT_EQ(get(b, "/v1/bridges/" + id)["owner"], owner);
  auto& runs = owner == "a" ? a : b;
  auto& idle = owner == "a" ? b : a;
  ASSERT_TRUE(eventually([&] { return get(runs, "/v1/bridges/" + id)["state"] == "connected"; }));
  EXPECT_EQ(get(idle, "/v1/bridges/" + id)["state"], "not_owner");

  server.control("/send?count=10");
  ASSERT_TRUE(eventually([&] { return history(runs, "ext.cluster") == numbered(1, 10); }));
  EXPECT_EQ(server.state()["connections"], 1) << "more than one node connected";
  EXPECT_TRUE(history(idle, "ext.cluster").empty() || history(idle, "ext.cluster") == numbered(1, 10));
  EXPECT_EQ(sample(idle, "evmesh_bridge_connects_total" + labels(id, "inbound")), -1);

  // Deleting on the node that does not run it stops it on the one that does.
  EXPECT_EQ(api_client(idle.url(), token).call(boost::beast::http::verb::delete_, "/v1/bridges/" + id, "").status, 204);
  ASSERT_TRUE(eventually([&] { return server.state()["open"] == 0; }));
  ASSERT_TRUE(eventually([&] { return api_client(runs.url(), token).get("/v1/bridges/" + id).status == 404; }));
}

} // namespace
} // namespace evmesh::test
