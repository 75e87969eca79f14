// The WebSocket transport on its own: an HTTP server whose handler takes
// connections over (responder::take_over) and runs a ws_session with an
// echo handler. Messages of every size come back in order; one over the
// limit closes with 1009; a client that stops reading is closed with 1013
// and the handler hears why, even when the queue overflows before the
// handshake is answered; a stopping server closes its
// WebSocket connections with 1001 and waits for them; bytes sent after the
// upgrade request before its answer get a 400 instead of a hand-over.
#include "support/sse_client.hpp"
#include "support/ws_client.hpp"
#include "transports/http_server.hpp"
#include "transports/ws_session.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <future>
#include <thread>

namespace {

namespace http = evmesh::http;
namespace ws = evmesh::ws;
using evmesh::test::ws_client;
using namespace std::chrono_literals;

// A server whose every request becomes a WebSocket session that echoes each
// message; the test gets the connection and the end reason through futures.
struct echo_server {
  // `on_open` runs when the session starts, before the handshake is answered.
  explicit echo_server(ws::options options, std::function<void(ws::connection&)> on_open = {}) {
    server = std::make_unique<http::server>(
      http::server_options{.port = 0, .threads = 1},
      [this, options, on_open](http::request&& req, http::responder respond) {
        respond.take_over(std::move(req), [this, options, on_open](http::connection_handover handover) {
          return ws::run_session(std::move(handover), options, [this, on_open](std::shared_ptr<ws::connection> c) {
            connection.set_value(c);  // weakly: a held connection would keep stop() waiting
            if (on_open)
              on_open(*c);
            ws::handlers h;
            h.on_message = [c](std::string text, bool) { c->send(text); };
            h.on_end = [this](ws::end_reason why) { ended.set_value(why); };
            return h;
          });
        });
      });
    server->start();
  }
  std::shared_ptr<ws::connection> wait_connection() {
    auto f = connection.get_future();
    EXPECT_EQ(f.wait_for(10s), std::future_status::ready);
    return f.get().lock();
  }
  std::optional<ws::end_reason> wait_end() {
    auto f = ended.get_future();
    if (f.wait_for(10s) != std::future_status::ready)
      return std::nullopt;
    return f.get();
  }

  std::promise<std::weak_ptr<ws::connection>> connection;
  std::promise<ws::end_reason> ended;
  std::unique_ptr<http::server> server;
};

TEST(WsSession, EchoesMessagesInOrderAndHearsTheClientClose) {
  echo_server srv{{}};
  ws_client client(srv.server->port(), "/");
  ASSERT_TRUE(client.open());
  for (int i = 0; i < 100; ++i)
    client.send("message " + std::to_string(i));
  for (int i = 0; i < 100; ++i)
    ASSERT_EQ(client.next(), "message " + std::to_string(i));
  client.close(1000);
  EXPECT_EQ(srv.wait_end(), ws::end_reason::client_closed);
}

TEST(WsSession, MessagesOfEverySizeAreFramedRight) {
  ws::options options;
  options.max_message_bytes = 1024 * 1024;
  echo_server srv{options};
  ws_client client(srv.server->port(), "/");
  for (std::size_t size : {0u, 1u, 125u, 126u, 65535u, 65536u, 200000u}) {
    std::string text(size, 'a');
    client.send(text);
    auto back = client.next();
    ASSERT_TRUE(back) << size;
    EXPECT_EQ(back->size(), size);
  }
}

TEST(WsSession, AMessageOverTheLimitClosesWith1009) {
  ws::options options;
  options.max_message_bytes = 1000;
  echo_server srv{options};
  ws_client client(srv.server->port(), "/");
  client.send(std::string(1001, 'x'));
  auto closed = client.wait_closed();
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->code, 1009);
  EXPECT_EQ(srv.wait_end(), ws::end_reason::too_big);
}

TEST(WsSession, AClientThatStopsReadingIsClosedWith1013) {
  ws::options options;
  options.max_queued_messages = 64;
  echo_server srv{options};
  ws_client client(srv.server->port(), "/", {.receive_buffer = 4096});
  auto conn = srv.wait_connection();
  const std::string filler(16 * 1024, 'x');
  int sent = 0;
  while (sent < 100000 && conn->send(filler))  // the client reads nothing meanwhile
    ++sent;
  EXPECT_LT(sent, 100000) << "the queue never filled";
  EXPECT_EQ(srv.wait_end(), ws::end_reason::too_slow);
  EXPECT_FALSE(conn->send(std::string_view("late"))) << "a send after the end was accepted";
  auto closed = client.wait_closed(10s);
  ASSERT_TRUE(closed) << "no close frame";
  EXPECT_EQ(closed->code, 1013);
}

TEST(WsSession, AQueueOverflowDuringTheHandshakeStillClosesWith1013) {
  ws::options options;
  options.max_queued_messages = 4;
  echo_server srv{options, [](ws::connection& c) {
    for (int i = 0; i < 5; ++i)  // the fifth overflows before the 101 is written
      c.send(std::string_view("early"));
  }};
  ws_client client(srv.server->port(), "/");
  ASSERT_TRUE(client.open()) << "the handshake was not answered";
  auto closed = client.wait_closed(10s);
  ASSERT_TRUE(closed) << "the socket was dropped without a close frame";
  EXPECT_EQ(closed->code, 1013);
  EXPECT_EQ(srv.wait_end(), ws::end_reason::too_slow);
}

TEST(WsSession, ServerStopClosesWith1001AndWaitsForTheHandshake) {
  echo_server srv{{}};
  ws_client client(srv.server->port(), "/");
  ASSERT_TRUE(client.open());
  srv.wait_connection();
  std::optional<evmesh::test::ws_close> closed;
  std::thread reader([&] { closed = client.wait_closed(10s); });
  auto started = std::chrono::steady_clock::now();
  srv.server->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
  reader.join();
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->code, 1001);
  EXPECT_EQ(srv.wait_end(), ws::end_reason::server_stopping);
}

TEST(WsSession, BytesAfterTheUpgradeRequestGetA400) {
  echo_server srv{{}};
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(srv.server->port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const std::string request = "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
                              "too early";
  ASSERT_EQ(::send(fd, request.data(), request.size(), MSG_NOSIGNAL), static_cast<ssize_t>(request.size()));
  std::string answer;
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (answer.find("\r\n\r\n") == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0)
      continue;
    char buf[4096];
    auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0)
      break;
    answer.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  EXPECT_EQ(answer.rfind("HTTP/1.1 400", 0), 0u) << answer;
}

} // namespace
