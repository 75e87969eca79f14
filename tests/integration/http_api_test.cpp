// The HTTP API of a real `evmesh node` process, as a client sees it:
// publishing in every accepted form, history, lookup, tokens and scopes, and
// every error status the contract names (400, 401, 403, 404, 405, 413).
#include "support/api_client.hpp"
#include "support/node_process.hpp"

#include <gtest/gtest.h>

#include <memory>

namespace evmesh::test {
namespace {

using nlohmann::json;
using verb = boost::beast::http::verb;

class HttpApi : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    dir = new temp_dir;
    node = new node_process(dir->path());
  }
  static void TearDownTestSuite() {
    EXPECT_EQ(node->stop(), 0) << node->output();
    delete node;
    delete dir;
  }
  api_client admin() { return api_client(node->url(), node->admin_token()); }
  api_client anonymous() { return api_client(node->url(), ""); }

  static temp_dir* dir;
  static node_process* node;
};

temp_dir* HttpApi::dir = nullptr;
node_process* HttpApi::node = nullptr;

void expect_problem(const api_response& r, int status, const std::string& detail_part) {
  EXPECT_EQ(r.status, status) << r.body;
  EXPECT_EQ(r.headers["Content-Type"], "application/problem+json") << r.body;
  auto body = r.json();
  EXPECT_EQ(body["status"], status);
  EXPECT_NE(body["detail"].get<std::string>().find(detail_part), std::string::npos)
    << "detail: " << body["detail"] << " lacks: " << detail_part;
}

TEST_F(HttpApi, HealthzNeedsNoToken) {
  auto r = anonymous().get("/healthz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.json()["status"], "ok");
}

TEST_F(HttpApi, PublishAnswersIdAndSeqAndHistoryReturnsTheEvent) {
  auto c = admin();
  auto r = c.post("/v1/events", {{"topic", "api.publish.one"}, {"data", {{"order", 42}}},
                                 {"headers", {{"trace", "t1"}}}});
  ASSERT_EQ(r.status, 202) << r.body;
  auto ack = r.json();
  ASSERT_TRUE(ack["id"].is_string());
  ASSERT_GT(ack["seq"].get<uint64_t>(), 0u);

  auto h = c.get("/v1/events?topic=api.publish.*&since=" + std::to_string(ack["seq"].get<uint64_t>() - 1));
  ASSERT_EQ(h.status, 200) << h.body;
  auto events = h.json()["events"];
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["id"], ack["id"]);
  EXPECT_EQ(events[0]["seq"], ack["seq"]);
  EXPECT_EQ(events[0]["topic"], "api.publish.one");
  EXPECT_EQ(events[0]["data"], json({{"order", 42}}));
  EXPECT_EQ(events[0]["headers"]["trace"], "t1");
  auto time = events[0]["time"].get<std::string>();
  EXPECT_EQ(time.size(), 27u) << time;  // 2026-11-23T11:04:32.123456Z
  EXPECT_EQ(time.back(), 'Z');

  auto one = c.get("/v1/events/" + ack["id"].get<std::string>());
  ASSERT_EQ(one.status, 200) << one.body;
  EXPECT_EQ(one.json()["seq"], ack["seq"]);
  EXPECT_TRUE(one.json()["deliveries"].is_array());
}

TEST_F(HttpApi, BatchGetsConsecutiveSeqsInOrder) {
  auto c = admin();
  json batch = json::array();
  for (int i = 0; i < 50; ++i)
    batch.push_back({{"topic", "api.batch"}, {"data", i}});
  auto r = c.post("/v1/events", batch);
  ASSERT_EQ(r.status, 202) << r.body;
  auto acks = r.json();
  ASSERT_EQ(acks.size(), 50u);
  for (std::size_t i = 1; i < acks.size(); ++i)
    EXPECT_EQ(acks[i]["seq"].get<uint64_t>(), acks[i - 1]["seq"].get<uint64_t>() + 1);
  auto h = c.get("/v1/events?topic=api.batch&limit=1000").json()["events"];
  ASSERT_EQ(h.size(), 50u);
  for (int i = 0; i < 50; ++i)
    EXPECT_EQ(h[i]["data"], i);
}

TEST_F(HttpApi, RepublishedIdIsAcceptedButStoredOnce) {
  auto c = admin();
  json e{{"topic", "api.dedup"}, {"data", 1}, {"id", "dedup-1"}};
  auto first = c.post("/v1/events", e).json();
  auto second = c.post("/v1/events", e);
  ASSERT_EQ(second.status, 202);
  EXPECT_EQ(second.json()["seq"], first["seq"]);
  EXPECT_EQ(second.json()["duplicate"], true);
  auto within_batch = c.post("/v1/events", json::array({{{"topic", "api.dedup"}, {"data", 2}, {"id", "dedup-2"}},
                                                         {{"topic", "api.dedup"}, {"data", 3}, {"id", "dedup-2"}}}));
  ASSERT_EQ(within_batch.status, 202);
  EXPECT_EQ(within_batch.json()[0]["seq"], within_batch.json()[1]["seq"]);
  EXPECT_EQ(c.get("/v1/events?topic=api.dedup").json()["events"].size(), 2u);
}

TEST_F(HttpApi, CloudEventsStructuredAndBinaryModes) {
  auto c = admin();
  auto structured = c.call(verb::post, "/v1/events",
                           json{{"specversion", "1.0"}, {"type", "api.ce.structured"}, {"id", "ce-s-1"},
                                {"source", "/tests"}, {"data", {{"x", 1}}}}
                             .dump(),
                           {{"Content-Type", "application/cloudevents+json"}});
  ASSERT_EQ(structured.status, 202) << structured.body;
  EXPECT_EQ(structured.json()["id"], "ce-s-1");
  auto binary = c.call(verb::post, "/v1/events", std::string("\x00\x01\xff", 3),
                       {{"Content-Type", "application/octet-stream"}, {"ce-specversion", "1.0"},
                        {"ce-type", "api.ce.binary"}, {"ce-id", "ce-b-1"}, {"ce-source", "/tests"}});
  ASSERT_EQ(binary.status, 202) << binary.body;
  auto events = c.get("/v1/events?topic=api.ce.*").json()["events"];
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0]["data"], json({{"x", 1}}));
  EXPECT_EQ(events[0]["headers"]["ce-source"], "/tests");
  EXPECT_EQ(events[1]["data_base64"], "AAH/");
  EXPECT_EQ(events[1]["headers"]["ce-source"], "/tests");
  auto missing_id = c.call(verb::post, "/v1/events", "{}",
                           {{"Content-Type", "application/json"}, {"ce-specversion", "1.0"}, {"ce-type", "a.b"}});
  expect_problem(missing_id, 400, "ce-id");
}

TEST_F(HttpApi, MalformedInputGets400SayingWhatIsWrong) {
  auto c = admin();
  expect_problem(c.call(verb::post, "/v1/events", "{\"topic\":"), 400, "not valid JSON");
  expect_problem(c.post("/v1/events", {{"topic", "orders..x"}, {"data", 1}}), 400, "token 2");
  expect_problem(c.post("/v1/events", {{"topic", "a.b"}}), 400, "\"data\" is required");
  expect_problem(c.post("/v1/events", {{"topic", 7}, {"data", 1}}), 400, "\"topic\" must be a string");
  expect_problem(c.post("/v1/events", json::array()), 400, "empty");
  expect_problem(c.post("/v1/events", json::array({{{"topic", "a.b"}, {"data", 1}}, {{"topic", "a b"}, {"data", 1}}})),
                 400, "event 1");
  expect_problem(c.post("/v1/events", {{"topic", "a.b"}, {"data", 1}, {"id", "has space"}}), 400, "id");
  expect_problem(c.get("/v1/events?topic=a.>.b"), 400, "topic");
  expect_problem(c.get("/v1/events?since=-1"), 400, "since");
  expect_problem(c.get("/v1/events?limit=0"), 400, "limit");
  expect_problem(c.get("/v1/events?topic=%zz"), 400, "percent");
  expect_problem(c.call(verb::post, "/v1/events", "x", {{"Content-Type", "text/plain"}}), 400, "content type");
  // Nothing of a refused batch was stored.
  EXPECT_EQ(c.get("/v1/events?topic=a.b").json()["events"].size(), 0u);
}

TEST_F(HttpApi, MissingOrWrongTokenGets401) {
  auto r = anonymous().post("/v1/events", {{"topic", "a.b"}, {"data", 1}});
  expect_problem(r, 401, "Bearer");
  EXPECT_EQ(r.headers["WWW-Authenticate"], "Bearer");
  expect_problem(api_client(node->url(), "evm_forged").get("/v1/events"), 401, "not valid");
  expect_problem(anonymous().call(verb::get, "/v1/events", "", {{"Authorization", "Basic abc"}}), 401, "Bearer");
}

TEST_F(HttpApi, ScopedTokensAreLimitedToTheirPatterns) {
  auto c = admin();
  auto created = c.post("/v1/tokens", {{"scopes", {"publish:api.scoped.*", "subscribe:api.scoped.>"}}});
  ASSERT_EQ(created.status, 201) << created.body;
  api_client scoped(node->url(), created.json()["token"]);
  EXPECT_EQ(scoped.post("/v1/events", {{"topic", "api.scoped.ok"}, {"data", 1}}).status, 202);
  expect_problem(scoped.post("/v1/events", {{"topic", "api.other"}, {"data", 1}}), 403, "api.other");
  EXPECT_EQ(scoped.get("/v1/events?topic=api.scoped.ok").status, 200);
  expect_problem(scoped.get("/v1/events?topic=>"), 403, ">");
  expect_problem(scoped.post("/v1/tokens", {{"scopes", {"admin"}}}), 403, "admin");
  expect_problem(c.post("/v1/tokens", {{"scopes", {"publish:a..b"}}}), 400, "a..b");
  expect_problem(c.post("/v1/tokens", {{"scopes", {"root"}}}), 400, "root");
  expect_problem(c.post("/v1/tokens", {{"scopes", json::array()}}), 400, "scopes");
}

TEST_F(HttpApi, UnknownPathsAndMethods) {
  auto c = admin();
  expect_problem(c.get("/v1/nothing"), 404, "/v1/nothing");
  expect_problem(c.get("/v1/events/no-such-id"), 404, "no-such-id");
  auto r = c.call(verb::delete_, "/v1/events", "");
  expect_problem(r, 405, "DELETE");
  EXPECT_EQ(r.headers["Allow"], "GET, POST");
}

TEST_F(HttpApi, OversizedBodyGets413AndNothingIsStored) {
  auto c = admin();
  std::string big(1024 * 1024 + 1, 'x');
  auto r = c.call(verb::post, "/v1/events", json{{"topic", "api.big"}, {"data", big}}.dump());
  EXPECT_EQ(r.status, 413) << r.body.substr(0, 200);
  EXPECT_EQ(admin().get("/v1/events?topic=api.big").json()["events"].size(), 0u);
}

TEST_F(HttpApi, MetricsCountWhatHappened) {
  auto c = admin();
  ASSERT_EQ(c.post("/v1/events", {{"topic", "api.metrics"}, {"data", 1}}).status, 202);
  auto r = anonymous().get("/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.headers["Content-Type"].find("text/plain"), std::string::npos);
  for (const char* name : {"evmesh_events_published_total ", "evmesh_http_requests_total ",
                           "evmesh_store_last_seq ", "evmesh_auth_failures_total "})
    EXPECT_NE(r.body.find(name), std::string::npos) << name;
  auto at = r.body.find("\nevmesh_events_published_total ");
  ASSERT_NE(at, std::string::npos);
  EXPECT_GT(std::stoull(r.body.substr(at + 31)), 0u);
}

TEST_F(HttpApi, KeepAliveServesManyRequestsOnOneConnection) {
  auto c = admin();
  for (int i = 0; i < 200; ++i)
    ASSERT_EQ(c.post("/v1/events", {{"topic", "api.keepalive"}, {"data", i}}).status, 202);
  auto metrics = anonymous().get("/metrics").body;
  auto at = metrics.find("\nevmesh_http_open_connections ");
  ASSERT_NE(at, std::string::npos);
  EXPECT_LE(std::stoull(metrics.substr(at + 30)), 3u);  // this client, the scraper, maybe one closing
}

} // namespace
} // namespace evmesh::test
