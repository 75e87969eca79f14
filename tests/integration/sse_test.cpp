// GET /v1/sse against a real `evmesh node`: live events with id/event/data,
// resume by Last-Event-ID and ?since= across the history/live seam with no
// gap or duplicate, 400/401/403, ?token=, the heartbeat, a client that stops
// reading being closed while a fast one keeps receiving, and SIGTERM with
// open streams.
#include "support/api_client.hpp"
#include "support/metrics.hpp"
#include "support/node_process.hpp"
#include "support/sse_client.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace evmesh::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class Sse : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    dir = new temp_dir;
    node = new node_process(dir->path(), {"--sse-heartbeat", "0.2"});
  }
  static void TearDownTestSuite() {
    EXPECT_EQ(node->stop(), 0) << node->output();
    delete node;
    delete dir;
  }
  static api_client admin() { return api_client(node->url(), node->admin_token()); }
  static std::map<std::string, std::string> bearer() {
    return {{"Authorization", "Bearer " + node->admin_token()}};
  }
  static uint64_t publish(api_client& c, const std::string& topic, const json& data) {
    auto r = c.post("/v1/events", {{"topic", topic}, {"data", data}});
    EXPECT_EQ(r.status, 202) << r.body;
    return r.json()["seq"].get<uint64_t>();
  }

  static temp_dir* dir;
  static node_process* node;
};

temp_dir* Sse::dir = nullptr;
node_process* Sse::node = nullptr;

// Reads events until `last` and checks they are exactly first..last.
void expect_consecutive(sse_client& s, uint64_t first, uint64_t last) {
  for (uint64_t want = first; want <= last; ++want) {
    auto m = s.next_event();
    ASSERT_TRUE(m) << "stream ended or stalled waiting for seq " << want;
    ASSERT_EQ(std::stoull(m->id), want);
  }
}

TEST_F(Sse, LiveEventsArriveInOrderWithIdEventAndData) {
  sse_client s(node->port(), "/v1/sse?topic=sse.live.*", bearer());
  ASSERT_EQ(s.status(), 200);
  EXPECT_EQ(s.header("content-type"), "text/event-stream");
  EXPECT_EQ(s.header("cache-control"), "no-cache");
  EXPECT_EQ(s.header("x-accel-buffering"), "no");
  EXPECT_EQ(s.header("connection"), "keep-alive");
  EXPECT_FALSE(s.has_header("content-length"));

  auto c = admin();
  std::vector<uint64_t> seqs;
  for (int i = 0; i < 5; ++i)
    seqs.push_back(publish(c, "sse.live." + std::to_string(i), {{"n", i}}));
  publish(c, "sse.other", 1);  // not matched
  for (int i = 0; i < 5; ++i) {
    auto m = s.next_event();
    ASSERT_TRUE(m);
    EXPECT_EQ(m->id, std::to_string(seqs[i]));
    EXPECT_EQ(m->event, "sse.live." + std::to_string(i));
    auto data = json::parse(m->data);
    EXPECT_EQ(data["seq"], seqs[i]);
    EXPECT_EQ(data["topic"], m->event);
    EXPECT_EQ(data["data"], json({{"n", i}}));
    EXPECT_TRUE(data["id"].is_string());
    EXPECT_TRUE(data["time"].is_string());
  }
}

// Publishes `count` events on `topic` one after another; returns the last seq.
uint64_t publish_many(const std::string& url, const std::string& token, const std::string& topic,
                      int count) {
  api_client c(url, token);
  uint64_t last = 0;
  for (int i = 0; i < count; ++i) {
    auto r = c.post("/v1/events", {{"topic", topic}, {"data", i}});
    last = r.json()["seq"].get<uint64_t>();
  }
  return last;
}

void resume_across_seam(const std::string& topic, uint16_t port, const std::string& url,
                        const std::string& token, bool use_header) {
  api_client c(url, token);
  uint64_t middle = 0;
  for (int i = 0; i < 40; ++i) {
    auto seq = c.post("/v1/events", {{"topic", topic}, {"data", i}}).json()["seq"].get<uint64_t>();
    if (i == 19)
      middle = seq;
  }
  uint64_t last = 0;
  std::thread publisher([&] { last = publish_many(url, token, topic, 300); });
  std::map<std::string, std::string> headers{{"Authorization", "Bearer " + token}};
  std::string target = "/v1/sse?topic=" + topic;
  if (use_header)
    headers["Last-Event-ID"] = std::to_string(middle);
  else
    target += "&since=" + std::to_string(middle);
  sse_client s(port, target, headers);
  ASSERT_EQ(s.status(), 200);
  publisher.join();
  expect_consecutive(s, middle + 1, last);
}

TEST_F(Sse, ResumeWithLastEventIdSendsEveryLaterEventOnceAcrossTheSeam) {
  resume_across_seam("sse.resume.header", node->port(), node->url(), node->admin_token(), true);
}

TEST_F(Sse, ResumeWithSinceSendsEveryLaterEventOnceAcrossTheSeam) {
  resume_across_seam("sse.resume.query", node->port(), node->url(), node->admin_token(), false);
}

TEST_F(Sse, TokenInTheQueryWorks) {
  sse_client s(node->port(), "/v1/sse?topic=sse.query&token=" + node->admin_token());
  ASSERT_EQ(s.status(), 200);
  auto c = admin();
  auto seq = publish(c, "sse.query", 7);
  auto m = s.next_event();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->id, std::to_string(seq));
}

TEST_F(Sse, RefusesMissingOrBadTokensUncoveredPatternsAndBadInput) {
  EXPECT_EQ(sse_client(node->port(), "/v1/sse?topic=a").status(), 401);
  EXPECT_EQ(sse_client(node->port(), "/v1/sse?topic=a&token=nope").status(), 401);
  EXPECT_EQ(sse_client(node->port(), "/v1/sse?topic=a", {{"Authorization", "Bearer nope"}}).status(), 401);

  auto created = admin().post("/v1/tokens", {{"scopes", {"subscribe:orders.*"}}});
  ASSERT_EQ(created.status, 201) << created.body;
  auto token = created.json()["token"].get<std::string>();
  std::map<std::string, std::string> limited{{"Authorization", "Bearer " + token}};
  EXPECT_EQ(sse_client(node->port(), "/v1/sse?topic=wallet.tx", limited).status(), 403);
  EXPECT_EQ(sse_client(node->port(), "/v1/sse?topic=orders.>", limited).status(), 403);
  EXPECT_EQ(sse_client(node->port(), "/v1/sse?topic=orders.created", limited).status(), 200);

  EXPECT_EQ(sse_client(node->port(), "/v1/sse?topic=orders..x", bearer()).status(), 400);
  EXPECT_EQ(sse_client(node->port(), "/v1/sse?topic=a&since=x", bearer()).status(), 400);
  auto bad_id = bearer();
  bad_id["Last-Event-ID"] = "abc";
  EXPECT_EQ(sse_client(node->port(), "/v1/sse?topic=a", bad_id).status(), 400);
}

TEST_F(Sse, HeartbeatCommentArrives) {
  sse_client s(node->port(), "/v1/sse?topic=sse.quiet", bearer());
  ASSERT_EQ(s.status(), 200);
  auto m = s.next(5s);
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->comment);
  EXPECT_EQ(m->text, "heartbeat");
}

TEST(SseSlowClient, ClientThatStopsReadingIsClosedWhileAFastOneKeepsReceiving) {
  temp_dir dir;
  node_process node(dir.path(), {"--subscriber-queue-limit", "64"});
  std::map<std::string, std::string> auth{{"Authorization", "Bearer " + node.admin_token()}};
  api_client c(node.url(), node.admin_token());
  sse_client slow(node.port(), "/v1/sse?topic=sse.slow", auth, 1024);
  sse_client fast(node.port(), "/v1/sse?topic=sse.slow", auth);
  ASSERT_EQ(slow.status(), 200);  // from here on, `slow` never reads again
  ASSERT_EQ(fast.status(), 200);
  EXPECT_EQ(metric(c, "evmesh_sse_streams"), 2u);

  const std::string filler(16 * 1024, 'x');
  json batch = json::array();
  for (int i = 0; i < 8; ++i)  // a batch well under the limit: only lagging overflows
    batch.push_back({{"topic", "sse.slow"}, {"data", filler}});
  uint64_t received = 0;
  for (int round = 0; round < 1000 && metric(c, "evmesh_sse_closed_slow_total") == 0; ++round) {
    ASSERT_EQ(c.post("/v1/events", batch).status, 202);
    for (int i = 0; i < 8; ++i, ++received)
      ASSERT_TRUE(fast.next_event()) << "the fast client stalled after " << received << " events";
  }
  EXPECT_EQ(metric(c, "evmesh_sse_closed_slow_total"), 1u);
  EXPECT_EQ(metric(c, "evmesh_sse_streams"), 1u);
  auto seq = c.post("/v1/events", {{"topic", "sse.slow"}, {"data", 1}}).json()["seq"].get<uint64_t>();
  std::optional<sse_message> m;
  do
    m = fast.next_event();
  while (m && m->id != std::to_string(seq));
  EXPECT_TRUE(m) << "the fast client lost its stream";
  EXPECT_TRUE(slow.wait_closed(30s));
  EXPECT_EQ(node.stop(), 0) << node.output();
}

TEST(SseShutdown, SigtermWithOpenStreamsExitsZeroPromptly) {
  temp_dir dir;
  node_process node(dir.path());
  std::map<std::string, std::string> auth{{"Authorization", "Bearer " + node.admin_token()}};
  sse_client a(node.port(), "/v1/sse?topic=>", auth);
  sse_client b(node.port(), "/v1/sse?topic=x.*&since=0", auth);
  ASSERT_EQ(a.status(), 200);
  ASSERT_EQ(b.status(), 200);
  auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(node.stop(), 0) << node.output();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
  EXPECT_TRUE(a.wait_closed(5s));
  EXPECT_TRUE(b.wait_closed(5s));
}

} // namespace
} // namespace evmesh::test
