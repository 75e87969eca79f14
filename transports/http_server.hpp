// The HTTP/1.1 server every node edge sits on (Boost.Beast). It owns the
// io_context threads, accepts connections, reads one request at a time per
// connection (so pipelined requests are answered in order), enforces the body
// and header limits (413 / 400 as problem+json) and hands each complete
// request to the handler. The handler never blocks: it answers later, from
// any thread, by calling the responder exactly once.
#pragma once

#include <boost/beast/http.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace evmesh::http {

using request = boost::beast::http::request<boost::beast::http::string_body>;
using response = boost::beast::http::response<boost::beast::http::string_body>;

// Thread-safe, callable once, from any thread; the response is written on
// the connection's own strand. Keep-alive follows the request unless the
// response says `Connection: close`.
using responder = std::function<void(response)>;
using handler = std::function<void(request&& req, responder respond)>;

struct server_options {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;                      // 0 picks a free port
  std::size_t max_body_bytes = 1024 * 1024;  // larger bodies get 413
  std::size_t max_header_bytes = 16 * 1024;
  int threads = 2;
  std::chrono::seconds idle_timeout{60};     // close keep-alive connections idle this long
  std::chrono::seconds read_timeout{30};     // a request must arrive in full within this
};

class server {
public:
  server(server_options options, handler on_request);
  ~server();  // stop()s
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  // Binds and starts the threads; throws std::runtime_error with the address
  // and reason when the port cannot be bound.
  void start();
  // The port actually bound (useful with port 0). Valid after start().
  uint16_t port() const;
  // Stops accepting, lets responses already being produced finish for up to
  // `grace`, then closes every connection and joins the threads. Idempotent.
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds{5000});

  // Connections currently open and requests handled, for /metrics.
  uint64_t open_connections() const;
  uint64_t requests_total() const;

private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

} // namespace evmesh::http
