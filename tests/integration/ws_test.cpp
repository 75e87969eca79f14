// GET /v1/ws against a real `evmesh node`: the protocol's happy path
// (subscribe, publish and ack, event, ping, unsubscribe), `since` resume
// across the history/live seam with no gap or duplicate, every kind of bad
// message answered with an error (and the connection going on), an
// oversized message closing with 1009, 401 before the upgrade, 403 as an
// error message, pipelined publishes acked in order, protocol pings and the
// idle timeout, a half-mebibyte message both ways, and SIGTERM closing
// connections with 1001. The load tests
// (1000 clients, subscribe/unsubscribe races, a slow client) are in
// ws_load_test.cpp.
#include "support/api_client.hpp"
#include "support/metrics.hpp"
#include "support/node_process.hpp"
#include "support/ws_client.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

namespace evmesh::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr std::size_t max_message = 4096;

class Ws : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    dir = new temp_dir;
    node = new node_process(dir->path(), {"--ws-max-message", std::to_string(max_message)});
  }
  static void TearDownTestSuite() {
    EXPECT_EQ(node->stop(), 0) << node->output();
    delete node;
    delete dir;
  }
  static std::string target(const std::string& token) { return "/v1/ws?token=" + token; }
  static std::string target() { return target(node->admin_token()); }
  static api_client admin() { return api_client(node->url(), node->admin_token()); }

  static temp_dir* dir;
  static node_process* node;
};

temp_dir* Ws::dir = nullptr;
node_process* Ws::node = nullptr;

json subscribe(const std::string& pattern) { return {{"op", "subscribe"}, {"topic", pattern}}; }

// Subscribes and waits for the answer.
void subscribed(ws_client& c, const std::string& pattern) {
  c.send(subscribe(pattern));
  auto m = c.next_json();
  ASSERT_TRUE(m) << "no answer to subscribe " << pattern;
  ASSERT_EQ(*m, json({{"op", "subscribed"}, {"topic", pattern}}));
}

// The next `count` messages (in whatever order the node sent them).
std::vector<json> collect(ws_client& c, std::size_t count) {
  std::vector<json> out;
  while (out.size() < count) {
    auto m = c.next_json();
    if (!m)
      break;
    out.push_back(std::move(*m));
  }
  return out;
}

const json* find_op(const std::vector<json>& messages, const std::string& op) {
  for (const auto& m : messages)
    if (m["op"] == op)
      return &m;
  return nullptr;
}

// Sends `message` and expects an error with `code` whose message contains
// `words`; then the connection still answers a ping.
void expect_error(ws_client& c, const std::string& message, int code, const std::string& words) {
  SCOPED_TRACE(message);
  c.send(message);
  auto m = c.next_json();
  ASSERT_TRUE(m) << "no answer";
  EXPECT_EQ((*m)["op"], "error") << *m;
  EXPECT_EQ((*m)["code"], code) << *m;
  EXPECT_NE((*m)["message"].get<std::string>().find(words), std::string::npos) << *m;
  c.send(json{{"op", "ping"}});
  auto pong = c.next_json();
  ASSERT_TRUE(pong) << "the connection did not go on after the error";
  EXPECT_EQ(*pong, json({{"op", "pong"}}));
}

TEST_F(Ws, SubscribePublishAckEventPingUnsubscribe) {
  ws_client c(node->port(), target());
  ASSERT_TRUE(c.open());
  EXPECT_EQ(c.handshake_response()[boost::beast::http::field::server], "evmesh");
  subscribed(c, "ws.happy.*");

  c.send(json{{"op", "publish"}, {"topic", "ws.happy.one"}, {"data", {{"n", 1}}}});
  auto got = collect(c, 2);  // the ack and the event, in either order
  auto ack = find_op(got, "ack");
  auto ev = find_op(got, "event");
  ASSERT_TRUE(ack && ev) << json(got);
  EXPECT_TRUE((*ack)["id"].is_string());
  EXPECT_TRUE((*ack)["seq"].is_number_unsigned());
  EXPECT_FALSE(ack->contains("duplicate"));
  EXPECT_EQ((*ev)["topic"], "ws.happy.one");
  EXPECT_EQ((*ev)["id"], (*ack)["id"]);
  EXPECT_EQ((*ev)["seq"], (*ack)["seq"]);
  EXPECT_EQ((*ev)["data"], json({{"n", 1}}));
  EXPECT_TRUE((*ev)["time"].is_string());

  // A publisher id is kept; publishing it again is acked as a duplicate with
  // the same seq and delivers nothing new.
  json with_id{{"op", "publish"}, {"topic", "ws.happy.two"}, {"data", "x"}, {"id", "order-42"}};
  c.send(with_id);
  got = collect(c, 2);
  ack = find_op(got, "ack");
  ASSERT_TRUE(ack && find_op(got, "event")) << json(got);
  EXPECT_EQ((*ack)["id"], "order-42");
  auto seq = (*ack)["seq"];
  c.send(with_id);
  auto dup = c.next_json();
  ASSERT_TRUE(dup);
  EXPECT_EQ(*dup, json({{"op", "ack"}, {"id", "order-42"}, {"seq", seq}, {"duplicate", true}}));

  // Events published elsewhere (HTTP) arrive too, with headers.
  auto http = admin();
  auto r = http.post("/v1/events", {{"topic", "ws.happy.three"}, {"data", nullptr}, {"headers", {{"k", "v"}}}});
  ASSERT_EQ(r.status, 202) << r.body;
  auto ev3 = c.next_op("event");
  ASSERT_TRUE(ev3);
  EXPECT_EQ((*ev3)["seq"], r.json()["seq"]);
  EXPECT_EQ((*ev3)["headers"], json({{"k", "v"}}));
  EXPECT_TRUE((*ev3)["data"].is_null());

  c.send(json{{"op", "ping"}});
  EXPECT_EQ(c.next_json(), json({{"op", "pong"}}));

  c.send(json{{"op", "unsubscribe"}, {"topic", "ws.happy.*"}});
  EXPECT_EQ(c.next_json(), json({{"op", "unsubscribed"}, {"topic", "ws.happy.*"}}));
  // Nothing of that subscription follows the answer: a later event does
  // not arrive before the pong that answers a later ping.
  ASSERT_EQ(http.post("/v1/events", {{"topic", "ws.happy.four"}, {"data", 4}}).status, 202);
  c.send(json{{"op", "ping"}});
  EXPECT_EQ(c.next_json(), json({{"op", "pong"}}));
  c.close();
}

// Publishes `count` events on `topic` one after another; returns the last seq.
uint64_t publish_many(const std::string& url, const std::string& token, const std::string& topic,
                      int count) {
  api_client c(url, token);
  uint64_t last = 0;
  for (int i = 0; i < count; ++i)
    last = c.post("/v1/events", {{"topic", topic}, {"data", i}}).json()["seq"].get<uint64_t>();
  return last;
}

TEST_F(Ws, SinceResumesEveryLaterEventOnceAcrossTheSeam) {
  const std::string topic = "ws.resume";
  auto http = admin();
  uint64_t middle = 0;
  for (int i = 0; i < 40; ++i) {
    auto seq = http.post("/v1/events", {{"topic", topic}, {"data", i}}).json()["seq"].get<uint64_t>();
    if (i == 19)
      middle = seq;
  }
  uint64_t last = 0;
  std::thread publisher([&] { last = publish_many(node->url(), node->admin_token(), topic, 300); });
  ws_client c(node->port(), target());
  c.send(json{{"op", "subscribe"}, {"topic", topic}, {"since", middle}});
  EXPECT_EQ(c.next_json(), json({{"op", "subscribed"}, {"topic", topic}}));
  publisher.join();
  for (uint64_t want = middle + 1; want <= last; ++want) {
    auto m = c.next_json();
    ASSERT_TRUE(m) << "stalled waiting for seq " << want;
    ASSERT_EQ((*m)["op"], "event");
    ASSERT_EQ((*m)["seq"], want);
  }
}

TEST_F(Ws, EveryBadMessageGetsAnErrorAndTheConnectionGoesOn) {
  ws_client c(node->port(), target());
  ASSERT_TRUE(c.open());
  expect_error(c, "not json", 400, "not valid JSON");
  expect_error(c, "[1,2]", 400, "JSON object");
  expect_error(c, "{\"topic\":\"a\"}", 400, "\"op\" is required");
  expect_error(c, "{\"op\":7}", 400, "\"op\" is required");
  expect_error(c, "{\"op\":\"dance\"}", 400, "unknown op \"dance\"");
  expect_error(c, "{\"op\":\"subscribe\"}", 400, "\"topic\" is required");
  expect_error(c, "{\"op\":\"subscribe\",\"topic\":\"a..b\"}", 400, "empty");
  expect_error(c, "{\"op\":\"subscribe\",\"topic\":\"a.>.b\"}", 400, ">");
  expect_error(c, "{\"op\":\"subscribe\",\"topic\":\"a\",\"since\":-1}", 400, "\"since\"");
  expect_error(c, "{\"op\":\"subscribe\",\"topic\":\"a\",\"since\":\"5\"}", 400, "\"since\"");
  expect_error(c, "{\"op\":\"unsubscribe\",\"topic\":\"never.subscribed\"}", 404, "not subscribed");
  expect_error(c, "{\"op\":\"publish\",\"topic\":\"a.*\",\"data\":1}", 400, "topic");
  expect_error(c, "{\"op\":\"publish\",\"topic\":\"a\"}", 400, "\"data\" is required");
  expect_error(c, "{\"op\":\"publish\",\"topic\":\"a\",\"data\":1,\"id\":\"has space\"}", 400, "id");
  expect_error(c, "{\"op\":\"publish\",\"topic\":\"a\",\"data\":1,\"headers\":{\"h\":1}}", 400, "header");

  subscribed(c, "ws.twice");
  expect_error(c, "{\"op\":\"subscribe\",\"topic\":\"ws.twice\"}", 409, "already subscribed");

  // A binary message is refused the same way.
  c.send("{\"op\":\"ping\"}", true);
  auto m = c.next_json();
  ASSERT_TRUE(m);
  EXPECT_EQ((*m)["op"], "error");
  EXPECT_EQ((*m)["code"], 400);

  // Errors about a request name it.
  c.send(json{{"op", "publish"}, {"topic", "a"}, {"id", "e-1"}});
  m = c.next_json();
  ASSERT_TRUE(m);
  EXPECT_EQ((*m)["id"], "e-1");
}

TEST_F(Ws, AMessageOverTheLimitClosesWith1009AndTheNodeGoesOn) {
  ws_client big(node->port(), target());
  big.send(json{{"op", "publish"}, {"topic", "ws.big"}, {"data", std::string(max_message, 'x')}});
  auto closed = big.wait_closed();
  ASSERT_TRUE(closed) << "no close frame";
  EXPECT_EQ(closed->code, 1009);

  ws_client next(node->port(), target());
  next.send(json{{"op", "ping"}});
  EXPECT_EQ(next.next_json(), json({{"op", "pong"}}));
}

TEST_F(Ws, TokenIsCheckedBeforeTheUpgrade) {
  EXPECT_EQ(ws_client(node->port(), "/v1/ws").refused_status(), 401);
  EXPECT_EQ(ws_client(node->port(), "/v1/ws?token=nope").refused_status(), 401);
  EXPECT_EQ(ws_client(node->port(), "/v1/ws", {.headers = {{"Authorization", "Bearer nope"}}})
              .refused_status(),
            401);
  ws_client by_header(node->port(), "/v1/ws",
                      {.headers = {{"Authorization", "Bearer " + node->admin_token()}}});
  EXPECT_TRUE(by_header.open());
  ws_client by_query(node->port(), target());
  EXPECT_TRUE(by_query.open());

  auto plain = admin().get("/v1/ws");  // no upgrade
  EXPECT_EQ(plain.status, 426);
  EXPECT_EQ(plain.headers[boost::beast::http::field::upgrade], "websocket");
}

TEST_F(Ws, ScopesAreCheckedPerMessageWith403) {
  auto created = admin().post("/v1/tokens", {{"scopes", {"subscribe:orders.*", "publish:orders.created"}}});
  ASSERT_EQ(created.status, 201) << created.body;
  ws_client c(node->port(), target(created.json()["token"].get<std::string>()));
  ASSERT_TRUE(c.open());
  expect_error(c, subscribe("wallet.tx").dump(), 403, "may not subscribe");
  expect_error(c, subscribe("orders.>").dump(), 403, "may not subscribe");
  expect_error(c, "{\"op\":\"publish\",\"topic\":\"orders.deleted\",\"data\":1}", 403, "may not publish");
  subscribed(c, "orders.*");
  c.send(json{{"op", "publish"}, {"topic", "orders.created"}, {"data", 1}});
  auto got = collect(c, 2);
  EXPECT_TRUE(find_op(got, "ack") && find_op(got, "event")) << json(got);
}

TEST_F(Ws, PipelinedPublishesAreAllAckedInOrder) {
  ws_client c(node->port(), target());
  constexpr int count = 1000;  // well past the 256 in flight at which the node pauses reading
  for (int i = 0; i < count; ++i)
    c.send(json{{"op", "publish"}, {"topic", "ws.pipeline"}, {"data", i}, {"id", "p-" + std::to_string(i)}});
  uint64_t last = 0;
  for (int i = 0; i < count; ++i) {
    auto m = c.next_json();
    ASSERT_TRUE(m) << "ack " << i << " missing";
    ASSERT_EQ((*m)["op"], "ack") << *m;
    ASSERT_EQ((*m)["id"], "p-" + std::to_string(i));
    ASSERT_GT((*m)["seq"].get<uint64_t>(), last);
    last = (*m)["seq"].get<uint64_t>();
  }
}

// A client that never answers pings is closed after the idle timeout; one
// that answers (Beast does while reading) stays.
TEST(WsIdle, SilentClientIsPingedThenClosedWhileAnAnsweringOneStays) {
  temp_dir dir;
  node_process node(dir.path(), {"--ws-idle-timeout", "0.6"});

  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(node.port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  std::string upgrade = "GET /v1/ws?token=" + node.admin_token() +
                        " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  ASSERT_EQ(::send(fd, upgrade.data(), upgrade.size(), MSG_NOSIGNAL), static_cast<ssize_t>(upgrade.size()));
  std::string received;
  bool ended = false;
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!ended && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0)
      continue;
    char buf[4096];
    auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0)
      ended = true;
    else
      received.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  ASSERT_EQ(received.rfind("HTTP/1.1 101", 0), 0u) << received;
  auto frames = received.substr(received.find("\r\n\r\n") + 4);
  ASSERT_FALSE(frames.empty()) << "no ping arrived";
  EXPECT_EQ(static_cast<unsigned char>(frames[0]), 0x89) << "the first frame is not a ping";
  EXPECT_TRUE(ended) << "the silent client was not closed";

  ws_client live(node.port(), "/v1/ws?token=" + node.admin_token());
  EXPECT_FALSE(live.next(2s)) << "unexpected message";  // reads (and answers pings) for 2 s
  ASSERT_TRUE(live.open()) << "an answering client was closed";
  live.send(json{{"op", "ping"}});
  EXPECT_EQ(live.next_json(), json({{"op", "pong"}}));
  live.close();
  EXPECT_EQ(node.stop(), 0) << node.output();
}

TEST(WsLarge, AMessageOfHalfAMebibyteIsPublishedAndDeliveredWhole) {
  temp_dir dir;
  node_process node(dir.path());
  ws_client c(node.port(), "/v1/ws?token=" + node.admin_token());
  subscribed(c, "ws.large");
  std::string big(512 * 1024, 'x');
  for (std::size_t i = 0; i < big.size(); i += 997)
    big[i] = static_cast<char>('a' + i % 26);
  c.send(json{{"op", "publish"}, {"topic", "ws.large"}, {"data", big}});
  auto got = collect(c, 2);
  auto ack = find_op(got, "ack");
  auto ev = find_op(got, "event");
  ASSERT_TRUE(ack && ev) << "no ack and event";
  EXPECT_EQ((*ev)["data"], big);
  EXPECT_EQ((*ev)["seq"], (*ack)["seq"]);
  c.close();
  EXPECT_EQ(node.stop(), 0) << node.output();
}

TEST(WsShutdown, SigtermClosesConnectionsWith1001AndExitsPromptly) {
  temp_dir dir;
  node_process node(dir.path());
  ws_client a(node.port(), "/v1/ws?token=" + node.admin_token());
  subscribed(a, "x.>");
  std::optional<ws_close> closed;
  std::thread reader([&] { closed = a.wait_closed(10s); });
  auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(node.stop(), 0) << node.output();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
  reader.join();
  ASSERT_TRUE(closed) << "no close frame";
  EXPECT_EQ(closed->code, 1001);
}

} // namespace
} // namespace evmesh::test
