// The blocking HTTP/1.1 client used by the command line tools and the tests.
// Each call runs Beast's async operations on the client's own io_context
// until they finish, which is how every step (resolve, connect, write, read)
// gets a timeout. The connection is kept across calls; when the server has
// meanwhile closed it, the request is sent once more on a fresh connection.
#include "transports/http_client.hpp"

#include "base/url_target.hpp"

#include <limits>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>

#include <stdexcept>

namespace evmesh::http {

namespace beast = boost::beast;
namespace beast_http = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

// The Host header value: IPv6 literals go back into brackets.
std::string host_header(const url_parts& parts) {
  std::string host = parts.host.find(':') != std::string::npos ? "[" + parts.host + "]" : parts.host;
  return parts.port == "80" ? host : host + ":" + parts.port;
}

// Errors that mean the server closed a kept-alive connection before it saw
// our request: safe to send once more on a new connection.
bool is_stale_connection(const beast::error_code& ec) {
  return ec == beast_http::error::end_of_stream || ec == net::error::eof ||
         ec == net::error::connection_reset || ec == net::error::broken_pipe ||
         ec == net::error::connection_aborted;
}

} // namespace

url_parts parse_url(const std::string& url) {
  std::string error;
  auto target = parse_url_target(url, url_family::http, error);
  if (!error.empty())
    throw std::invalid_argument(error + ": " + url);
  if (target.tls)
    throw std::invalid_argument("https is not supported by this client");
  return {std::move(target.host), std::move(target.port), std::move(target.path)};
}

struct client::impl {
  impl(std::string base_url, std::chrono::milliseconds op_timeout)
      : base(parse_url(base_url)), timeout(op_timeout) {}

  // Runs the operations started on ioc until they complete.
  void run() {
    ioc.restart();
    ioc.run();
  }

  void connect();
  void disconnect();
  beast::error_code exchange(request& req, response& res, bool& got_response_bytes);
  std::string target_for(const std::string& path) const;
  [[noreturn]] void fail(const request& req, const beast::error_code& ec) const;

  const url_parts base;
  const std::chrono::milliseconds timeout;
  net::io_context ioc;
  beast::tcp_stream stream{ioc};
  beast::flat_buffer buffer;
  bool connected = false;
};

void client::impl::connect() {
  tcp::resolver resolver{ioc};
  beast::error_code ec;
  tcp::resolver::results_type endpoints;
  resolver.async_resolve(base.host, base.port, [&](const beast::error_code& e, tcp::resolver::results_type r) {
    ec = e;
    endpoints = std::move(r);
  });
  ioc.restart();
  ioc.run_for(timeout);
  if (!ioc.stopped()) {  // the resolver is still busy: give up
    resolver.cancel();
    run();
    ec = beast::error::timeout;
  }
  if (ec)
    throw std::runtime_error("cannot resolve " + base.host + ":" + base.port + ": " + ec.message());

  stream.expires_after(timeout);
  stream.async_connect(endpoints, [&](const beast::error_code& e, const tcp::endpoint&) { ec = e; });
  run();
  if (ec) {
    stream.close();
    throw std::runtime_error("cannot connect to " + host_header(base) + ": " + ec.message());
  }
  buffer.clear();
  connected = true;
}

void client::impl::disconnect() {
  stream.close();
  connected = false;
}

beast::error_code client::impl::exchange(request& req, response& res, bool& got_response_bytes) {
  beast::error_code ec;
  stream.expires_after(timeout);
  beast_http::async_write(stream, req, [&](const beast::error_code& e, std::size_t) { ec = e; });
  run();
  if (ec) return ec;

  beast_http::response_parser<beast_http::string_body> parser;
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());  // our own servers; not boost::none (see webhook_client.cpp)
  parser.skip(req.method() == beast_http::verb::head);
  stream.expires_after(timeout);
  beast_http::async_read(stream, buffer, parser, [&](const beast::error_code& e, std::size_t) { ec = e; });
  run();
  got_response_bytes = parser.got_some();
  if (!ec) res = parser.release();
  return ec;
}

std::string client::impl::target_for(const std::string& path) const {
  if (base.target == "/") return path;
  std::string prefix = base.target;
  if (prefix.back() == '/' && !path.empty() && path.front() == '/') prefix.pop_back();
  return prefix + path;
}

void client::impl::fail(const request& req, const beast::error_code& ec) const {
  const auto method = beast_http::to_string(req.method());
  throw std::runtime_error(std::string(method.data(), method.size()) + " http://" + host_header(base) +
                           std::string(req.target().data(), req.target().size()) + ": " +
                           (ec == beast::error::timeout ? "timed out after " + std::to_string(timeout.count()) + " ms"
                                                        : ec.message()));
}

client::client(std::string base_url, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<impl>(std::move(base_url), timeout)) {}

client::~client() = default;

response client::send(beast_http::verb method, const std::string& target, const std::string& body,
                      const std::map<std::string, std::string>& headers) {
  request req{method, impl_->target_for(target), 11};
  req.set(beast_http::field::host, host_header(impl_->base));
  req.set(beast_http::field::user_agent, std::string("evmesh/") + EVMESH_VERSION);
  for (const auto& [name, value] : headers) req.set(name, value);
  if (!body.empty() && req.find(beast_http::field::content_type) == req.end())
    req.set(beast_http::field::content_type, "application/json");
  req.body() = body;
  req.prepare_payload();

  const bool reused = impl_->connected;
  if (!impl_->connected) impl_->connect();
  response res;
  bool got_response_bytes = false;
  auto ec = impl_->exchange(req, res, got_response_bytes);
  if (ec && reused && !got_response_bytes && is_stale_connection(ec)) {
    impl_->disconnect();
    impl_->connect();
    ec = impl_->exchange(req, res, got_response_bytes);
  }
  if (ec) {
    impl_->disconnect();
    impl_->fail(req, ec);
  }
  if (!res.keep_alive()) impl_->disconnect();
  return res;
}

} // namespace evmesh::http
