// The outbound HTTP client for webhook deliveries: one pool per node, shared
// by every delivery actor, on its own io_context threads (Boost.Beast).
// - Keep-alive: idle connections are kept per (scheme, host, port) and
//   reused; a reused connection the server had closed is retried once fresh.
// - HTTPS with OpenSSL: the peer certificate is verified against the system
//   store (or `ca_file`) and the host name, SNI is sent.
// - SSRF: a host is resolved once per new connection, every address is
//   checked (base/ssrf_guard), and the socket connects only to the
//   addresses that passed — never a second lookup that could answer otherwise.
// - Timeouts: connect (TCP + TLS handshake) and total (the whole exchange,
//   the response body included: a receiver that streams a body without end
//   gets post_failure::timeout at the deadline, whatever the socket timer
//   does while bytes keep arriving).
// - Redirects are answers like any other (a 3xx is not a success); only the
//   first 4 KiB of a response body is kept, the rest is read and dropped.
// - The request body is shared (`shared_ptr<const string>`) and written from
//   that buffer as is: no copy per attempt, however large.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace evmesh::webhook {

constexpr std::size_t kept_response_bytes = 4096;

struct client_options {
  int threads = 1;
  bool allow_private_targets = false;
  std::chrono::milliseconds connect_timeout{5000};
  std::size_t max_idle_per_host = 64;
  std::chrono::seconds max_idle_time{30};  // idle connections older than this are closed
  std::string ca_file;                     // extra trust anchors (PEM); empty: system store only
};

struct post_request {
  std::string url;  // http:// or https://
  std::shared_ptr<const std::string> body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::milliseconds timeout{15000};  // total
};

// Why an exchange ended without an HTTP answer (post_result::failure).
enum class post_failure {
  none,         // an answer came (see status)
  invalid_url,  // the URL cannot be parsed
  refused,      // the SSRF guard refused the host or every address of it
  resolve,      // the name did not resolve
  connect,      // no TCP connection
  tls,          // the TLS handshake failed
  timeout,      // the attempt's timeout passed before the whole answer was read
  transport,    // the connection failed mid-exchange (reset, closed, malformed answer)
  stopping,     // the pool is stopping
};

const char* to_string(post_failure f);

struct post_result {
  int status = 0;              // 0: no HTTP answer (see error)
  post_failure failure = post_failure::none;
  std::string error;           // why there was no answer: refused target, connect, TLS, timeout
  bool refused = false;        // the SSRF guard refused every address of the host
  std::string body;            // the first kept_response_bytes of the body
  std::string retry_after;     // the Retry-After header, if any
  std::chrono::microseconds duration{0};
};

class client_pool {
public:
  explicit client_pool(client_options options);
  ~client_pool();  // stop()
  client_pool(const client_pool&) = delete;
  client_pool& operator=(const client_pool&) = delete;

  // Sends one POST; `done` is called exactly once, on a pool thread, with the
  // outcome. Thread-safe; never blocks. After stop(), `done` is called at
  // once with an error; exchanges still in flight at stop() are dropped
  // without calling `done` (their owners are stopping too).
  void post(post_request request, std::function<void(post_result)> done);

  // Drops what is in flight, closes idle connections, joins the threads.
  // Idempotent.
  void stop();

  // Connections opened so far (for tests and metrics: keep-alive reuse).
  uint64_t connections_opened() const;

  struct impl;  // public so the exchange in the .cpp can name it

private:
  std::shared_ptr<impl> impl_;
};

} // namespace evmesh::webhook
