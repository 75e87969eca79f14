// Streaming responses of the HTTP server (responder::stream): chunks arrive
// in order, the keepalive chunk is written on its timer, and the handler
// learns once why the stream ended — client gone, queue overflow against a
// client that does not read, or server stop (which does not wait for it).
#include "support/sse_client.hpp"
#include "transports/http_server.hpp"

#include <gtest/gtest.h>

#include <future>

namespace {

namespace http = evmesh::http;
using evmesh::test::sse_client;
using namespace std::chrono_literals;

// A server whose every request starts a stream with `options`; the test
// gets the writer and the reason the stream ended through futures.
struct streaming_server {
  explicit streaming_server(http::stream_options options) {
    options.on_end = [this](http::stream_end why) { ended.set_value(why); };
    server = std::make_unique<http::server>(
      http::server_options{.port = 0, .threads = 1},
      [this, options](http::request&&, http::responder respond) {
        http::response head{boost::beast::http::status::ok, 11};
        head.set(boost::beast::http::field::content_type, "text/event-stream");
        writer.set_value(respond.stream(std::move(head), options));
      });
    server->start();
  }
  std::shared_ptr<http::stream_writer> wait_writer() {
    auto f = writer.get_future();
    EXPECT_EQ(f.wait_for(10s), std::future_status::ready);
    return f.get();
  }
  std::optional<http::stream_end> wait_end(std::chrono::seconds limit = 10s) {
    auto f = ended.get_future();
    if (f.wait_for(limit) != std::future_status::ready)
      return std::nullopt;
    return f.get();
  }

  std::promise<std::shared_ptr<http::stream_writer>> writer;
  std::promise<http::stream_end> ended;
  std::unique_ptr<http::server> server;
};

TEST(HttpStream, ChunksArriveInOrderAndClientCloseEndsTheStream) {
  streaming_server srv{{}};
  sse_client client(srv.server->port(), "/");
  auto writer = srv.wait_writer();
  ASSERT_TRUE(writer);
  ASSERT_EQ(client.status(), 200);
  EXPECT_EQ(client.header("transfer-encoding"), "chunked");
  EXPECT_FALSE(client.has_header("content-length"));
  EXPECT_TRUE(writer->write("data: a\n\n"));
  EXPECT_TRUE(writer->write("data: b\n\n"));
  EXPECT_EQ(client.next()->data, "a");
  EXPECT_EQ(client.next()->data, "b");
  client.close();
  EXPECT_EQ(srv.wait_end(), http::stream_end::client_gone);
  EXPECT_FALSE(writer->write("data: c\n\n"));
}

TEST(HttpStream, KeepaliveChunkIsWrittenOnItsTimer) {
  http::stream_options options;
  options.keepalive_interval = 20ms;
  options.keepalive_chunk = ": ka\n\n";
  streaming_server srv{options};
  sse_client client(srv.server->port(), "/");
  auto m = client.next(5s);
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->comment);
  EXPECT_EQ(m->text, "ka");
}

TEST(HttpStream, ClientThatDoesNotReadOverflowsTheBoundedQueue) {
  http::stream_options options;
  options.max_queued_chunks = 4;
  streaming_server srv{options};
  sse_client client(srv.server->port(), "/", {}, 1024);
  auto writer = srv.wait_writer();
  ASSERT_EQ(client.status(), 200);  // and never reads again
  const std::string chunk(256 * 1024, 'x');
  int accepted = 0;
  while (accepted < 10000 && writer->write(chunk))
    ++accepted;
  EXPECT_LT(accepted, 10000) << "the queue never filled";
  EXPECT_EQ(srv.wait_end(), http::stream_end::overflow);
  EXPECT_FALSE(writer->write("late"));
}

TEST(HttpStream, StopEndsOpenStreamsWithoutWaitingForThem) {
  streaming_server srv{{}};
  sse_client client(srv.server->port(), "/");
  auto writer = srv.wait_writer();
  ASSERT_EQ(client.status(), 200);
  auto started = std::chrono::steady_clock::now();
  srv.server->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
  EXPECT_EQ(srv.wait_end(), http::stream_end::server_stopping);
  EXPECT_TRUE(client.wait_closed(5s));
  EXPECT_FALSE(writer->write("late"));
}

TEST(HttpStream, WriterCloseEndsTheStreamAndTheConnection) {
  streaming_server srv{{}};
  sse_client client(srv.server->port(), "/");
  auto writer = srv.wait_writer();
  ASSERT_EQ(client.status(), 200);
  writer->close();
  EXPECT_EQ(srv.wait_end(), http::stream_end::closed);
  EXPECT_TRUE(client.wait_closed(5s));
}

} // namespace
