// The webhook client against a real TLS peer on loopback (an in-process
// server with certificates made by the openssl CLI): a self-signed
// certificate is refused, the same certificate trusted through `ca_file` is
// accepted, and a trusted certificate for another host name is refused.
#include "transports/webhook_client.hpp"

#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <gtest/gtest.h>

#include <filesystem>
#include <future>
#include <sys/socket.h>
#include <thread>

namespace evmesh {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

// A key and self-signed certificate for `names` (subjectAltName entries).
struct certificate {
  std::filesystem::path cert, key;
};

certificate make_certificate(const std::filesystem::path& dir, const std::string& stem,
                             const std::string& names) {
  certificate c{dir / (stem + ".pem"), dir / (stem + ".key")};
  auto command = "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=evmesh-test -addext "
                 "subjectAltName=" + names + " -keyout " + c.key.string() + " -out " + c.cert.string() +
                 " 2>/dev/null";
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
  return c;
}

// Accepts connections one at a time on 127.0.0.1, answers each request 200.
class tls_server {
public:
  explicit tls_server(const certificate& c) : context_(ssl::context::tls_server), acceptor_(ioc_) {
    context_.use_certificate_chain_file(c.cert.string());
    context_.use_private_key_file(c.key.string(), ssl::context::pem);
    acceptor_.open(tcp::v4());
    acceptor_.bind({asio::ip::make_address("127.0.0.1"), 0});
    acceptor_.listen();
    thread_ = std::thread([this] { serve(); });
  }
  ~tls_server() {
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR);  // ends the blocking accept
    thread_.join();
  }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  int requests() const { return requests_; }  // requests read (after a TLS handshake)

private:
  void serve() {
    for (;;) {
      tcp::socket socket(ioc_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      if (ec)
        return;
      ssl::stream<tcp::socket> stream(std::move(socket), context_);
      stream.handshake(ssl::stream_base::server, ec);
      if (ec)
        continue;  // the client refused us
      boost::beast::flat_buffer buffer;
      bhttp::request<bhttp::string_body> req;
      bhttp::read(stream, buffer, req, ec);
      if (ec)
        continue;
      ++requests_;  // before the answer: the client may check as soon as it has it
      bhttp::response<bhttp::string_body> res{bhttp::status::ok, req.version()};
      res.body() = "ok";
      res.keep_alive(false);
      res.prepare_payload();
      bhttp::write(stream, res, ec);
      stream.shutdown(ec);
    }
  }

  asio::io_context ioc_;
  ssl::context context_;
  tcp::acceptor acceptor_;
  std::atomic<int> requests_{0};
  std::thread thread_;
};

webhook::post_result post(webhook::client_pool& pool, const std::string& url) {
  std::promise<webhook::post_result> done;
  auto future = done.get_future();
  pool.post({url, std::make_shared<const std::string>("{\"x\":1}"), {{"webhook-id", "msg_tls"}},
             std::chrono::seconds{5}},
            [&done](webhook::post_result r) { done.set_value(std::move(r)); });
  EXPECT_EQ(future.wait_for(std::chrono::seconds{10}), std::future_status::ready);
  return future.get();
}

struct WebhookTls : ::testing::Test {
  WebhookTls() : dir(std::filesystem::temp_directory_path() / ("evmesh-tls-" + std::to_string(::getpid()))) {
    std::filesystem::create_directories(dir);
  }
  ~WebhookTls() override { std::filesystem::remove_all(dir); }
  webhook::client_options options(const std::string& ca_file = {}) {
    webhook::client_options o;
    o.allow_private_targets = true;
    o.ca_file = ca_file;
    return o;
  }
  std::filesystem::path dir;
};

TEST_F(WebhookTls, ASelfSignedCertificateIsRefused) {
  auto cert = make_certificate(dir, "self", "IP:127.0.0.1");
  tls_server server(cert);
  webhook::client_pool pool(options());
  auto r = post(pool, "https://127.0.0.1:" + std::to_string(server.port()) + "/hook");
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.error.find("certificate verify failed"), std::string::npos) << r.error;
  EXPECT_EQ(server.requests(), 0) << "nothing may be sent to an unverified peer";
}

TEST_F(WebhookTls, ATrustedCertificateForTheAddressIsAccepted) {
  auto cert = make_certificate(dir, "trusted", "IP:127.0.0.1");
  tls_server server(cert);
  webhook::client_pool pool(options(cert.cert.string()));
  auto r = post(pool, "https://127.0.0.1:" + std::to_string(server.port()) + "/hook");
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(server.requests(), 1);
}

TEST_F(WebhookTls, ATrustedCertificateForAnotherHostIsRefused) {
  auto cert = make_certificate(dir, "other", "DNS:other.example");
  tls_server server(cert);
  webhook::client_pool pool(options(cert.cert.string()));
  auto r = post(pool, "https://127.0.0.1:" + std::to_string(server.port()) + "/hook");
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.error.find("certificate verify failed"), std::string::npos) << r.error;
  EXPECT_EQ(server.requests(), 0);
}

} // namespace
} // namespace evmesh
