// The webhook client pool against the project's own HTTP server on
// loopback: keep-alive reuse, only 4 KiB of a large answer kept, redirects
// answered not followed, Retry-After passed up, the total timeout, the SSRF
// guard before connecting, malformed URLs, and HTTPS verification failing
// against a plain-HTTP port (real TLS peers: webhook_tls_test.cpp).
#include "transports/http_server.hpp"
#include "transports/webhook_client.hpp"
#include "base/url_target.hpp"

#include <gtest/gtest.h>

#include <future>

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
