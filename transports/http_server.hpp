// The HTTP/1.1 server every node edge sits on (Boost.Beast). It owns the
// io_context threads, accepts connections, reads one request at a time per
// connection (so pipelined requests are answered in order), enforces the body
// and header limits (413 / 400 as problem+json) and hands each complete
// request to the handler. The handler never blocks: it answers later, from
// any thread, by calling the responder exactly once, streams a body
// through a stream_writer (Server-Sent Events), or takes the connection over
// (a WebSocket upgrade; the server still ends it when it stops).
#pragma once

#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>

namespace evmesh::http {

using request = boost::beast::http::request<boost::beast::http::string_body>;
using response = boost::beast::http::response<boost::beast::http::string_body>;

// Why a streamed response ended.
enum class stream_end {
  closed,         // the handler called stream_writer::close()
  client_gone,    // the client closed the connection, or writing to it failed
  overflow,       // more than max_queued_chunks were waiting to be written
  server_stopping,
};

// The handler's side of a streamed response (e.g. Server-Sent Events): the
// body is sent chunk by chunk (HTTP/1.1 chunked encoding; close-delimited for
// HTTP/1.0) for as long as the connection lives. Thread-safe; never blocks.
class stream_writer {
public:
  virtual ~stream_writer() = default;
  // Queues one chunk for writing on the connection's strand. False when the
  // stream has ended, or when the queue is full: then the stream ends with
  // stream_end::overflow.
  virtual bool write(std::string chunk) = 0;
  // Ends the stream and closes the connection (stream_end::closed).
  virtual void close() = 0;
};

struct stream_options {
  // Chunks queued but not yet written to the socket; one more ends the stream.
  std::size_t max_queued_chunks = 1024;
  // Written every `keepalive_interval` while the stream lives (0: never).
  std::chrono::milliseconds keepalive_interval{0};
  std::string keepalive_chunk;
  // Called once, on the connection's strand, when the stream ends for any
  // reason. Must not block.
  std::function<void(stream_end)> on_end;
};

// A connection a handler took over from the server (e.g. a WebSocket
// session). The server holds it weakly and ends it when it stops.
class taken_connection {
public:
  virtual ~taken_connection() = default;
  // Any thread: begin a graceful close that ends within a bounded time
  // (the server is stopping; it waits up to its grace period).
  virtual void shut_down() = 0;
  // Any thread: close the socket now.
  virtual void abort() = 0;
};

// The server's side of a taken-over connection. Hold it for as long as the
// socket lives: it keeps the server's io_context alive, and dropping it tells
// a stopping server that the connection is gone.
class connection_lease {
public:
  virtual ~connection_lease() = default;
  // Runs `task` on the connection's strand unless the server no longer runs
  // handlers (it has stopped); false then, and `task` is dropped.
  virtual bool post(std::function<void()> task) = 0;
};

// What a handler gets when it takes a connection over: the socket (its
// executor is the connection's strand) and the request that asked for it.
struct connection_handover {
  boost::beast::tcp_stream stream;
  request req;
  std::shared_ptr<connection_lease> lease;
};

// Called on the connection's strand with the connection; returns what the
// server should end when it stops (nullptr if the connection is already
// gone). Must not block.
using take_over_fn = std::function<std::shared_ptr<taken_connection>(connection_handover)>;

// How a handler answers: exactly once, from any thread, either with a whole
// response, by starting a stream, or by taking the connection over. The
// response is written on the connection's own strand. Keep-alive follows the
// request unless the response says `Connection: close`. Copies share the one
// answer.
class responder {
public:
  using answer_fn = std::function<void(response)>;
  using stream_fn = std::function<std::shared_ptr<stream_writer>(response head, stream_options)>;
  using hand_over_fn = std::function<bool(request, take_over_fn)>;

  responder() = default;
  responder(std::nullptr_t) {}  // empty, like a null std::function
  // A responder that can only answer with whole responses.
  template <class F>
    requires(std::is_invocable_v<F&, response> && !std::is_same_v<std::decay_t<F>, responder>)
  responder(F answer) : answer_(std::move(answer)) {}
  responder(answer_fn answer, stream_fn stream, hand_over_fn hand_over = {})
      : answer_(std::move(answer)), stream_(std::move(stream)), hand_over_(std::move(hand_over)) {}

  void operator()(response res) const { answer_(std::move(res)); }
  // Sends `head` (status and headers; its body is ignored) and returns the
  // writer for the body; nullptr if this responder cannot stream or has
  // already answered.
  std::shared_ptr<stream_writer> stream(response head, stream_options options) const {
    return stream_ ? stream_(std::move(head), std::move(options)) : nullptr;
  }
  // Hands the connection, with `req` (the request being answered), to
  // `receiver` on the connection's strand: the server neither reads nor
  // writes it any more. False if this responder cannot do that or has
  // already answered. A request followed by more bytes before the hand-over
  // (a client that did not wait for the 101) is answered 400 instead.
  bool take_over(request req, take_over_fn receiver) const {
    return hand_over_ && hand_over_(std::move(req), std::move(receiver));
  }
  // The same responder, with `observe` shown every response and stream head
  // first (e.g. to count status codes).
  responder observed(std::function<void(const response&)> observe) const;
  explicit operator bool() const { return static_cast<bool>(answer_); }

private:
  answer_fn answer_;
  stream_fn stream_;
  hand_over_fn hand_over_;
};

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
  // Stops accepting, lets responses already being produced finish and
  // taken-over connections close for up to `grace`, then closes every
  // connection and joins the threads. Idempotent.
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds{5000});

  // Connections currently open and requests handled, for /metrics.
  uint64_t open_connections() const;
  uint64_t requests_total() const;

private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

} // namespace evmesh::http
