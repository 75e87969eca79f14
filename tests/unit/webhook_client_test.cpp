// The webhook client pool against the project's own HTTP server on
// loopback: keep-alive reuse, only 4 KiB of a large answer kept, redirects
// answered not followed, Retry-After passed up, the total timeout, the SSRF
// guard before connecting, malformed URLs, and HTTPS verification failing
// against a plain-HTTP port (real TLS peers: webhook_tls_test.cpp).
#include "transports/http_server.hpp"
#include "transports/webhook_client.hpp"
#include "base/url_target.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

namespace evmesh {
namespace {

namespace bhttp = boost::beast::http;

// Answers by path: /big → 100 KiB, /redirect → 302, /busy → 429 +
// Retry-After, /slow → never (the responder is dropped after 2 s), else 200
// echoing the body.
http::handler test_handler() {
  return [](http::request&& req, http::responder respond) {
    std::string target(req.target());
    http::response res{bhttp::status::ok, req.version()};
    res.keep_alive(req.keep_alive());
    if (target == "/big") {
      res.body() = std::string(100 * 1024, 'b');
    } else if (target == "/redirect") {
      res.result(bhttp::status::found);
      res.set(bhttp::field::location, "/elsewhere");
    } else if (target == "/busy") {
      res.result(bhttp::status::too_many_requests);
      res.set(bhttp::field::retry_after, "7");
    } else if (target == "/slow") {
      std::thread([respond, res]() mutable {
        std::this_thread::sleep_for(std::chrono::seconds{2});
        respond(std::move(res));
      }).detach();
      return;
    } else {
      res.body() = req.body();
    }
    res.prepare_payload();
    respond(std::move(res));
  };
}

struct WebhookClient : ::testing::Test {
  WebhookClient() {
    http::server_options options;
    options.host = "127.0.0.1";
    options.port = 0;
    server = std::make_unique<http::server>(options, test_handler());
    server->start();
  }
  std::string url(const std::string& path) { return "http://127.0.0.1:" + std::to_string(server->port()) + path; }

  webhook::post_result post(webhook::client_pool& pool, const std::string& target,
                            std::chrono::milliseconds timeout = std::chrono::seconds{5}) {
    std::promise<webhook::post_result> done;
    auto future = done.get_future();
    pool.post({target, std::make_shared<const std::string>("{\"x\":1}"), {{"webhook-id", "msg_1"}}, timeout},
              [&done](webhook::post_result r) { done.set_value(std::move(r)); });
    EXPECT_EQ(future.wait_for(std::chrono::seconds{10}), std::future_status::ready);
    return future.get();
  }

  std::unique_ptr<http::server> server;
};

webhook::client_options private_allowed() {
  webhook::client_options o;
  o.allow_private_targets = true;
  return o;
}

TEST_F(WebhookClient, ReusesOneKeptAliveConnection) {
  webhook::client_pool pool(private_allowed());
  for (int i = 0; i < 5; ++i) {
    auto r = post(pool, url("/echo"));
    EXPECT_EQ(r.status, 200) << r.error;
    EXPECT_EQ(r.body, "{\"x\":1}");
  }
  EXPECT_EQ(pool.connections_opened(), 1u);
}

TEST_F(WebhookClient, KeepsOnlyTheFirstFourKibibytes) {
  webhook::client_pool pool(private_allowed());
  auto r = post(pool, url("/big"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body.size(), webhook::kept_response_bytes);
  EXPECT_EQ(post(pool, url("/echo")).status, 200) << "the connection is still usable after the skipped body";
  EXPECT_EQ(pool.connections_opened(), 1u);
}

TEST_F(WebhookClient, RedirectsAreAnsweredNotFollowed) {
  webhook::client_pool pool(private_allowed());
  EXPECT_EQ(post(pool, url("/redirect")).status, 302);
}

TEST_F(WebhookClient, RetryAfterIsPassedUp) {
  webhook::client_pool pool(private_allowed());
  auto r = post(pool, url("/busy"));
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.retry_after, "7");
}

TEST_F(WebhookClient, TotalTimeoutEndsTheRequest) {
  webhook::client_pool pool(private_allowed());
  auto r = post(pool, url("/slow"), std::chrono::milliseconds{300});
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.error.find("timed out"), std::string::npos) << r.error;
  EXPECT_LT(r.duration, std::chrono::seconds{2});
}

// A receiver on a plain loopback socket that reads the whole request,
// answers 200 with `head` and then streams body bytes without end, until
// the client closes the connection (or 30 s, or the test ends).
class endless_receiver {
public:
  explicit endless_receiver(std::string head)
    : acceptor_(ioc_, {boost::asio::ip::make_address("127.0.0.1"), 0}), head_(std::move(head)) {
    thread_ = std::thread([this] { run(); });
  }
  ~endless_receiver() {
    stop_ = true;
    if (!thread_.joinable())
      return;
    boost::asio::ip::tcp::socket poke(ioc_);  // unblocks accept() if the client never came
    if (!accepted_) {
      boost::system::error_code ec;
      poke.connect(acceptor_.local_endpoint(), ec);
    }
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + "/stream"; }
  // Waits for the receiver to end; true when it ended because the client
  // closed the connection.
  bool client_closed() {
    if (thread_.joinable())
      thread_.join();
    return client_gone_;
  }
  uint64_t bytes_sent() const { return sent_; }

private:
  void run() {
    namespace net = boost::asio;
    net::ip::tcp::socket socket(ioc_);
    boost::system::error_code ec;
    acceptor_.accept(socket, ec);
    accepted_ = true;
    if (ec || stop_)
      return;
    std::string request;
    char buffer[4096];
    for (int reads = 0; reads < 1000; ++reads) {  // the head, then Content-Length bytes of body
      auto end = request.find("\r\n\r\n");
      if (end != std::string::npos) {
        std::size_t length = 0;
        auto at = request.find("Content-Length: ");
        if (at == std::string::npos)
          at = request.find("content-length: ");
        if (at != std::string::npos)
          length = std::stoul(request.substr(at + 16));
        if (request.size() >= end + 4 + length)
          break;
      }
      auto n = socket.read_some(net::buffer(buffer), ec);
      if (ec)
        return;
      request.append(buffer, n);
    }
    net::write(socket, net::buffer(head_), ec);
    const std::string chunk(16 * 1024, 'x');
    const bool chunked = head_.find("chunked") != std::string::npos;
    const std::string framed = chunked ? "4000\r\n" + chunk + "\r\n" : chunk;
    const auto stop_at = std::chrono::steady_clock::now() + std::chrono::seconds{30};
    while (!ec && !stop_ && std::chrono::steady_clock::now() < stop_at) {
      net::write(socket, net::buffer(framed), ec);
      if (!ec)
        sent_ += chunk.size();
    }
    client_gone_ = static_cast<bool>(ec);
  }

  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::string head_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> accepted_{false};
  std::atomic<bool> client_gone_{false};
  std::atomic<uint64_t> sent_{0};
};

// The attempt timeout covers the whole response: a receiver that answers
// 200 and then streams an endless body ends as a timeout (status 0, not a
// success) at the timeout, and the client closes the connection rather
// than read on. The error is printed on every failed check; the failure
// kind is the enum, so the check does not hang on the wording.
void expect_endless_body_times_out(const std::string& head) {
  endless_receiver receiver(head);
  webhook::client_pool pool(private_allowed());
  const std::chrono::milliseconds timeout{300};
  std::promise<webhook::post_result> done;
  auto future = done.get_future();
  pool.post({receiver.url(), std::make_shared<const std::string>("{}"), {}, timeout},
            [&done](webhook::post_result r) { done.set_value(std::move(r)); });
  ASSERT_EQ(future.wait_for(std::chrono::seconds{20}), std::future_status::ready)
    << "the attempt is still reading the endless body";
  auto r = future.get();
  auto said = "failure " + std::string(to_string(r.failure)) + ", status " + std::to_string(r.status) + ", error \"" +
              r.error + "\", after " + std::to_string(r.duration.count() / 1000) + " ms";
  EXPECT_EQ(r.failure, webhook::post_failure::timeout) << said;
  EXPECT_EQ(r.status, 0) << "an unfinished response is not a success: " << said;
  EXPECT_NE(r.error.find("timed out"), std::string::npos) << said;
  EXPECT_GE(r.duration, timeout) << "ended before the deadline: " << said;
  EXPECT_LT(r.duration, std::chrono::seconds{3}) << said;
  EXPECT_TRUE(r.body.empty()) << "nothing of an unfinished answer is kept";
  EXPECT_TRUE(receiver.client_closed()) << "the client read on instead of closing; " << said;
  EXPECT_GT(receiver.bytes_sent(), 0u) << said;
}

TEST(WebhookClientDeadline, AnEndlessContentLengthBodyEndsAtTheAttemptTimeout) {
  expect_endless_body_times_out("HTTP/1.1 200 OK\r\nContent-Length: 1000000000000\r\n\r\n");
}

TEST(WebhookClientDeadline, AnEndlessChunkedBodyEndsAtTheAttemptTimeout) {
  expect_endless_body_times_out("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
}

TEST_F(WebhookClient, LoopbackIsRefusedBeforeConnecting) {
  webhook::client_pool pool({});
  auto r = post(pool, url("/echo"));
  EXPECT_TRUE(r.refused);
  EXPECT_NE(r.error.find("loopback"), std::string::npos) << r.error;
  EXPECT_EQ(pool.connections_opened(), 0u);
  auto named = post(pool, "http://localhost:" + std::to_string(server->port()) + "/echo");
  EXPECT_TRUE(named.refused) << named.error;
}

TEST_F(WebhookClient, HttpsVerifiesThePeer) {
  webhook::client_pool pool(private_allowed());
  auto r = post(pool, "https://127.0.0.1:" + std::to_string(server->port()) + "/echo");
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.error.find("TLS handshake"), std::string::npos) << r.error;
}

TEST(WebhookUrl, MalformedUrlsAreRefusedWithAReason) {
  EXPECT_EQ(check_http_url("https://example.com/hook?x=1"), "");
  EXPECT_EQ(check_http_url("http://[2001:db8::1]:8443/h"), "");
  EXPECT_NE(check_http_url("ftp://example.com"), "");
  EXPECT_NE(check_http_url("http://user:pw@example.com"), "");
  EXPECT_NE(check_http_url("http://example.com:99999/"), "");
  EXPECT_NE(check_http_url("http:///path"), "");
  EXPECT_NE(check_http_url("http://[::1/"), "");
}

} // namespace
} // namespace evmesh
