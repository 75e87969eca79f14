// webhook_receiver: a small HTTP server that receives evmesh webhooks, checks
// their Standard Webhooks signatures with its own OpenSSL code (it shares
// nothing with evmesh's signer), prints each event, and can misbehave on
// purpose so tests and benchmarks can drive delivery through failures.
//
//   webhook_receiver [--port P] [--secret whsec_...]... [--fail-percent N]
//                    [--status CODE [--first N] [--retry-after S]] [--delay-ms N]
//                    [--threads N] [--quiet] [--no-record]
//
// It prints `listening on http://127.0.0.1:PORT` once it serves. Every POST
// is a webhook: answered 200 unless told otherwise (--fail-percent answers
// 500 to that share of requests at random; --status answers CODE to every
// request, or to the first N; 429/503 carry Retry-After: S). GET /received
// answers what it got so far as {"requests":[{"path","id","timestamp",
// "signatures","verified","answered","time_us","body"}]}; GET /count answers
// {"count"}.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <nlohmann/json.hpp>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using json = nlohmann::json;

namespace {

struct options {
  unsigned short port = 0;
  std::vector<std::string> secrets;
  int fail_percent = 0;
  int status = 0;       // 0: answer 200
  long first = -1;      // --status applies to the first N requests (-1: all)
  int retry_after = 1;
  int delay_ms = 0;
  int threads = 1;
  bool quiet = false;
  bool record = true;
};

std::string base64(const unsigned char* data, std::size_t size) {
  std::string out(4 * ((size + 2) / 3), '\0');
  auto n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(size));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string unbase64(const std::string& text) {
  std::string out(3 * text.size() / 4 + 3, '\0');
  auto n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                           reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0)
    return {};
  auto padding = std::count(text.end() - std::min<std::size_t>(2, text.size()), text.end(), '=');
  out.resize(static_cast<std::size_t>(n) - static_cast<std::size_t>(padding));
  return out;
}

// "v1," + base64(HMAC-SHA256(key, id.timestamp.body)), computed here.
std::string expected_signature(const std::string& secret, const std::string& id, const std::string& timestamp,
                               const std::string& body) {
  auto key = unbase64(secret.substr(secret.rfind('_') + 1));
  auto content = id + "." + timestamp + "." + body;
  unsigned char mac[EVP_MAX_MD_SIZE];
  std::size_t size = 0;
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0), OSSL_PARAM_construct_end()};
  EVP_MAC* hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(hmac);
  EVP_MAC_init(ctx, reinterpret_cast<const unsigned char*>(key.data()), key.size(), params);
  EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(content.data()), content.size());
  EVP_MAC_final(ctx, mac, &size, sizeof mac);
  EVP_MAC_CTX_free(ctx);
  EVP_MAC_free(hmac);
  return "v1," + base64(mac, size);
}

// Every secret must match one of the space-separated signatures, and the
// timestamp must be within 5 minutes (the specification's tolerance).
bool verify(const options& opts, const std::string& id, const std::string& timestamp,
            const std::string& signatures, const std::string& body) {
  if (opts.secrets.empty())
    return false;
  long long ts = 0;
  try {
    ts = std::stoll(timestamp);
  } catch (const std::exception&) {
    return false;
  }
  auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  if (std::llabs(now - ts) > 300)
    return false;
  for (const auto& secret : opts.secrets) {
    auto want = expected_signature(secret, id, timestamp, body);
    std::istringstream in(signatures);
    std::string one;
    bool found = false;
    while (in >> one)
      found = found || one == want;
    if (!found)
      return false;
  }
  return true;
}

struct receiver {
  options opts;
  std::mutex lock;
  json requests = json::array();
  std::atomic<long> count{0};
  std::mt19937 random{12345};

  http::response<http::string_body> handle(const http::request<http::string_body>& req) {
    http::response<http::string_body> res{http::status::ok, req.version()};
    res.keep_alive(req.keep_alive());
    res.set(http::field::content_type, "application/json");
    std::string target(req.target());
    if (req.method() == http::verb::get) {
      std::lock_guard<std::mutex> hold(lock);
      res.body() = target == "/count" ? json{{"count", count.load()}}.dump() : json{{"requests", requests}}.dump();
      res.prepare_payload();
      return res;
    }
    auto n = count.fetch_add(1);
    int answer = 200;
    {
      std::lock_guard<std::mutex> hold(lock);
      if (opts.status != 0 && (opts.first < 0 || n < opts.first))
        answer = opts.status;
      else if (opts.fail_percent > 0 && static_cast<int>(random() % 100) < opts.fail_percent)
        answer = 500;
    }
    if (opts.delay_ms > 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(opts.delay_ms));
    std::string id(req["webhook-id"]), timestamp(req["webhook-timestamp"]), signatures(req["webhook-signature"]);
    bool verified = verify(opts, id, timestamp, signatures, req.body());
    if (opts.record) {
      auto now = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::system_clock::now().time_since_epoch()).count();
      json one{{"path", target},          {"id", id},       {"timestamp", timestamp}, {"signatures", signatures},
               {"verified", verified},    {"answered", answer}, {"time_us", now}, {"body", req.body()}};
      std::lock_guard<std::mutex> hold(lock);
      requests.push_back(one);
    }
    if (!opts.quiet)
      std::cout << answer << " " << (verified ? "verified" : "UNVERIFIED") << " " << id << " " << req.body()
                << std::endl;
    res.result(static_cast<http::status>(answer));
    if (answer == 429 || answer == 503)
      res.set(http::field::retry_after, std::to_string(opts.retry_after));
    res.body() = answer == 200 ? "{\"ok\":true}" : "{\"ok\":false}";
    res.prepare_payload();
    return res;
  }
};

class session : public std::enable_shared_from_this<session> {
public:
  session(tcp::socket socket, receiver& r) : stream_(std::move(socket)), receiver_(r) {}
  void start() { read(); }

private:
  void read() {
    request_ = {};
    auto self = shared_from_this();
    http::async_read(stream_, buffer_, request_, [self](beast::error_code ec, std::size_t) {
      if (ec)
        return;
      self->response_ = self->receiver_.handle(self->request_);
      http::async_write(self->stream_, self->response_, [self](beast::error_code e, std::size_t) {
        if (!e && self->response_.keep_alive())
          self->read();
      });
    });
  }
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  http::response<http::string_body> response_;
  receiver& receiver_;
};

void accept(tcp::acceptor& acceptor, receiver& r) {
  acceptor.async_accept([&acceptor, &r](beast::error_code ec, tcp::socket socket) {
    if (!ec)
      std::make_shared<session>(std::move(socket), r)->start();
    if (acceptor.is_open())
      accept(acceptor, r);
  });
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc)
        throw std::invalid_argument(a + " needs a value");
      return argv[++i];
    };
    if (a == "--port") o.port = static_cast<unsigned short>(std::stoi(value()));
    else if (a == "--secret") o.secrets.push_back(value());
    else if (a == "--fail-percent") o.fail_percent = std::stoi(value());
    else if (a == "--status") o.status = std::stoi(value());
    else if (a == "--first") o.first = std::stol(value());
    else if (a == "--retry-after") o.retry_after = std::stoi(value());
    else if (a == "--delay-ms") o.delay_ms = std::stoi(value());
    else if (a == "--threads") o.threads = std::max(1, std::stoi(value()));
    else if (a == "--quiet") o.quiet = true;
    else if (a == "--no-record") o.record = false;
    else throw std::invalid_argument("unknown option " + a);
  }
  return o;
}

} // namespace

int main(int argc, char** argv) {
  receiver r;
  try {
    r.opts = parse(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "webhook_receiver: " << e.what() << "\n";
    return 2;
  }
  net::io_context ioc;
  tcp::acceptor acceptor(ioc, {net::ip::make_address("127.0.0.1"), r.opts.port});
  std::cout << "listening on http://127.0.0.1:" << acceptor.local_endpoint().port() << std::endl;
  accept(acceptor, r);
  net::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](beast::error_code, int) { ioc.stop(); });
  std::vector<std::thread> threads;
  for (int i = 1; i < r.opts.threads; ++i)
    threads.emplace_back([&] { ioc.run(); });
  ioc.run();
  for (auto& t : threads)
    t.join();
  return 0;
}
