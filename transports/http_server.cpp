// The Boost.Beast HTTP/1.1 server behind every node edge.
//
// Ownership, which is what keeps this free of use-after-free:
//   server::impl (a server_core) owns the io_context, the acceptor and the
//   threads. Each session holds a shared_ptr to the core, so the io_context
//   outlives every socket. A session is kept alive by its pending async
//   operation or, while the handler works on a request, by the responder
//   (through pending_response). Responders post to the session's strand only
//   while the core still accepts responses; stop() closes that gate before it
//   lets the threads run out of work, so nothing is ever posted to an
//   io_context that nobody runs.
//
// A session reads exactly one request, hands it to the handler and reads the
// next one only after the response has been written: pipelined requests
// already in the buffer are answered in order.
//
// Streaming (Server-Sent Events): instead of answering, a handler may call
// responder::stream. The head is queued on a stream_channel, the session
// switches to phase::streaming and from then on only writes what the channel
// queues (plus a keepalive chunk on a timer) and keeps one read pending to
// notice the client leaving. The channel bounds what waits to be written; past
// the bound the stream ends (overflow) instead of buffering without limit.
//
// Taking over (WebSocket upgrade): the handler calls responder::take_over;
// on its strand the session gives up its socket (it counts as closed from
// then on) and hands it to the handler's receiver with a lease. The core
// keeps the taken connection weakly until the lease goes: stop() asks it to
// shut down, waits for it like for an owed response, then aborts it.
#include "transports/http_server.hpp"
#include "transports/problem.hpp"
#include "base/log_line.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <limits>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

namespace evmesh::http {
namespace {

namespace beast = boost::beast;
namespace beast_http = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

// RFC 9112 §6.3: a request whose body length is not plain to every reader is
// refused (400, then the connection closes) instead of guessed at — a
// Transfer-Encoding other than exactly `chunked` (`xchunked`, `gzip, chunked`,
// two TE fields), or Transfer-Encoding together with Content-Length. Guessing
// lets what a proxy took for body run here as a second request (smuggling).
std::string ambiguous_framing(const beast_http::request_header<>& header) {
  const auto codings = header.count(beast_http::field::transfer_encoding);
  if (codings == 0)
    return {};
  if (codings > 1)
    return "more than one Transfer-Encoding field";
  auto value = std::string(header[beast_http::field::transfer_encoding]);
  const auto first = value.find_first_not_of(" \t");
  const auto last = value.find_last_not_of(" \t");
  value = first == std::string::npos ? std::string{} : value.substr(first, last - first + 1);
  if (!beast::iequals(value, "chunked"))
    return "Transfer-Encoding \"" + value + "\" is not supported (only chunked)";
  if (header.count(beast_http::field::content_length) != 0)
    return "both Transfer-Encoding and Content-Length";
  return {};
}

// How long a connection we close after an error may keep sending before we
// drop it; reading (and discarding) it meanwhile lets the client see our
// response instead of a reset.
constexpr std::chrono::seconds linger_timeout{2};
// Pause before accepting again when accept itself fails (e.g. out of file
// descriptors), so the loop does not spin.
constexpr std::chrono::milliseconds accept_retry_delay{100};
constexpr std::size_t read_chunk_bytes = 4096;
constexpr std::string_view continue_response = "HTTP/1.1 100 Continue\r\n\r\n";

class session;
class stream_channel;
class server_lease;

// Everything the server shares with its sessions.
class server_core : public std::enable_shared_from_this<server_core> {
public:
  server_core(server_options options, handler on_request)
      : options_(std::move(options)), on_request_(std::move(on_request)) {}

  void start();
  void stop(std::chrono::milliseconds grace);
  uint16_t port() const { return bound_port_; }
  uint64_t open_connections() const { return open_connections_; }
  uint64_t requests_total() const { return requests_total_; }

  // Used by sessions.
  const server_options& options() const { return options_; }
  const handler& request_handler() const { return on_request_; }
  bool stopping() const { return stopping_; }
  void count_request() { ++requests_total_; }
  void connection_opened() { ++open_connections_; }
  void forget(const session* s);
  void begin_response();
  void end_response();
  // Runs `post` under the lock if responses are still accepted; returns
  // whether it did.
  template <class Post> bool post_response(Post&& post);
  // A lease for a connection being taken over on `strand`, and what to end
  // when the server stops (given once the receiver has it).
  std::shared_ptr<server_lease> lease(const net::any_io_executor& strand);
  void keep_taken(uint64_t lease_id, const std::shared_ptr<taken_connection>& taken);
  void forget_taken(uint64_t lease_id);

private:
  void accept_next();
  void on_accept(const beast::error_code& ec, tcp::socket socket);
  void adopt(tcp::socket socket);
  std::vector<std::shared_ptr<session>> live_sessions();
  std::vector<std::shared_ptr<taken_connection>> live_taken();
  tcp::endpoint resolve_listen_address() const;

  const server_options options_;
  handler on_request_;  // released by stop(): it may hold what owns responders

  std::atomic<uint64_t> open_connections_{0};
  std::atomic<uint64_t> requests_total_{0};
  std::atomic<bool> stopping_{false};
  uint16_t bound_port_ = 0;

  std::mutex mutex_;  // guards the members below
  std::condition_variable responses_done_;
  std::size_t responses_owed_ = 0;
  bool accepting_responses_ = true;
  std::unordered_map<const session*, std::weak_ptr<session>> sessions_;
  std::unordered_map<uint64_t, std::weak_ptr<taken_connection>> taken_;  // by lease id
  uint64_t next_lease_id_ = 1;

  std::mutex lifecycle_mutex_;  // serialises start() and stop()
  bool started_ = false;
  bool stopped_ = false;

  net::io_context ioc_;
  tcp::acceptor acceptor_{net::make_strand(ioc_)};
  net::steady_timer accept_retry_{acceptor_.get_executor()};
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_;
  std::vector<std::thread> threads_;
};

// One HTTP connection. All members are touched on the strand only, except
// strand_ and core_ (immutable) and deliver(), which may be called anywhere.
class session : public std::enable_shared_from_this<session> {
public:
  session(std::shared_ptr<server_core> core, tcp::socket socket)
      : core_(std::move(core)), strand_(socket.get_executor()), stream_(std::move(socket)) {
    core_->connection_opened();
  }
  ~session() {
    if (!closed_) core_->forget(this);
  }
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  const net::any_io_executor& executor() const { return strand_; }

  void start() {
    net::dispatch(strand_, [self = shared_from_this()] { self->await_request(); });
  }
  // The server stopped accepting: drop the connection unless a response is
  // owed on it (that one is finished first, then the connection closes).
  void on_server_stopping() {
    if (phase_ == phase::reading) close();
    if (phase_ == phase::streaming) end_stream(stream_end::server_stopping);
  }
  void force_close() { close(); }
  // Any thread: queue the handler's response for writing on the strand.
  void deliver(response res);
  // Any thread: send `head` and switch the connection to streaming.
  std::shared_ptr<stream_writer> begin_stream(response head, stream_options options);
  // Any thread: hand the connection to `receiver` on the strand.
  void begin_take_over(request req, take_over_fn receiver);
  // Any thread: run `task` on the strand unless the server has stopped.
  template <class Task> void post_stream_task(Task task);
  // Strand: end the stream (if any) for `why` and close the connection.
  void end_stream(stream_end why);
  // Strand: write whatever the channel has queued, if nothing is being written.
  void flush_stream();

private:
  enum class phase { reading, handling, writing, streaming, closing };

  void await_request();
  void on_first_bytes(const beast::error_code& ec, std::size_t bytes);
  void read_request();
  void on_header(const beast::error_code& ec);
  void read_body();
  void on_request(const beast::error_code& ec);
  bool handled_read_error(const beast::error_code& ec);
  void dispatch(request req);
  void refuse(beast_http::status status, const std::string& detail);
  void finish_handler_response(response& res);
  void write(response res, bool owed_by_handler);
  void on_write(const beast::error_code& ec, bool owed_by_handler);
  void linger_close();
  void drain();
  void close();
  void start_stream(std::shared_ptr<stream_channel> channel, stream_options options);
  void take_over(request req, take_over_fn receiver);
  void watch_stream_client();
  void schedule_keepalive();
  void on_stream_write(const beast::error_code& ec);
  void notify_stream_end(stream_end why);

  const std::shared_ptr<server_core> core_;
  const net::any_io_executor strand_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<beast_http::request_parser<beast_http::string_body>> parser_;
  std::optional<response> outgoing_;
  phase phase_ = phase::reading;
  bool closed_ = false;
  unsigned request_version_ = 11;
  bool request_keep_alive_ = true;
  bool request_is_head_ = false;
  // Streaming only.
  std::shared_ptr<stream_channel> channel_;
  std::function<void(stream_end)> on_stream_end_;
  std::chrono::milliseconds keepalive_interval_{0};
  std::string keepalive_chunk_;
  net::steady_timer keepalive_timer_{strand_};
  std::vector<std::string> stream_writing_;
};

// The queue between a streaming handler (any thread) and its session (the
// strand). Chunks are framed on entry (HTTP/1.1 chunked encoding) so the
// session writes them as they are.
class stream_channel final : public stream_writer {
public:
  stream_channel(std::weak_ptr<session> owner, std::size_t max_queued, bool chunked)
      : owner_(std::move(owner)), max_queued_(max_queued), chunked_(chunked) {}

  // Queues the serialized head; the session's start_stream flushes it.
  void queue_head(std::string head) {
    std::lock_guard lock{mutex_};
    queued_.push_back(std::move(head));
    flush_posted_ = true;
  }

  bool write(std::string chunk) override {
    enum class outcome { queued, queued_first, overflow } result;
    {
      std::lock_guard lock{mutex_};
      if (ended_)
        return false;
      if (chunk.empty())
        return true;  // an empty chunk would end a chunked body
      if (queued_.size() + in_flight_ >= max_queued_) {
        ended_ = true;
        result = outcome::overflow;
      } else {
        queued_.push_back(frame(std::move(chunk)));
        result = std::exchange(flush_posted_, true) ? outcome::queued : outcome::queued_first;
      }
    }
    if (result == outcome::overflow) {
      end_on_strand(stream_end::overflow);
      return false;
    }
    if (result == outcome::queued_first)
      post([](session& s) { s.flush_stream(); });
    return true;
  }

  void close() override {
    {
      std::lock_guard lock{mutex_};
      if (std::exchange(ended_, true))
        return;
    }
    end_on_strand(stream_end::closed);
  }

  // Strand side.
  std::vector<std::string> take() {
    std::lock_guard lock{mutex_};
    std::vector<std::string> out(std::make_move_iterator(queued_.begin()),
                                 std::make_move_iterator(queued_.end()));
    queued_.clear();
    in_flight_ = out.size();
    if (out.empty())
      flush_posted_ = false;
    return out;
  }
  void written() {
    std::lock_guard lock{mutex_};
    in_flight_ = 0;
  }
  void mark_ended() {
    std::lock_guard lock{mutex_};
    ended_ = true;
  }

private:
  std::string frame(std::string chunk) const {
    if (!chunked_)
      return chunk;
    std::ostringstream size;
    size << std::hex << chunk.size() << "\r\n";
    return size.str() + chunk + "\r\n";
  }
  void end_on_strand(stream_end why) {
    post([why](session& s) { s.end_stream(why); });
  }
  template <class Fn> void post(Fn fn) {
    if (auto s = owner_.lock())
      s->post_stream_task([s, fn] { fn(*s); });
  }

  const std::weak_ptr<session> owner_;
  const std::size_t max_queued_;
  const bool chunked_;
  std::mutex mutex_;  // guards the members below
  std::deque<std::string> queued_;
  std::size_t in_flight_ = 0;  // taken by the session, not yet written
  bool flush_posted_ = false;
  bool ended_ = false;
};

// Shared by all copies of one responder: answers exactly once, and answers
// 500 if every copy is dropped without having been called.
class pending_response {
public:
  explicit pending_response(std::shared_ptr<session> s) : session_(std::move(s)) {}
  pending_response(const pending_response&) = delete;
  pending_response& operator=(const pending_response&) = delete;
  ~pending_response() {
    if (!answered_)
      session_->deliver(make_problem(beast_http::status::internal_server_error,
                                     "the request handler dropped the request without answering"));
  }
  void answer(response res) {
    if (!answered_.exchange(true)) session_->deliver(std::move(res));
  }
  std::shared_ptr<stream_writer> stream(response head, stream_options options) {
    if (answered_.exchange(true)) return nullptr;
    return session_->begin_stream(std::move(head), std::move(options));
  }
  bool take_over(request req, take_over_fn receiver) {
    if (answered_.exchange(true)) return false;
    session_->begin_take_over(std::move(req), std::move(receiver));
    return true;
  }

private:
  const std::shared_ptr<session> session_;
  std::atomic<bool> answered_{false};
};

// The lease on a taken-over connection: the core (and with it the
// io_context) lives while it does, posts go through the core's gate, and its
// end tells the core the connection is gone.
class server_lease final : public connection_lease {
public:
  server_lease(std::shared_ptr<server_core> core, net::any_io_executor strand, uint64_t id)
      : core_(std::move(core)), strand_(std::move(strand)), id_(id) {}
  ~server_lease() override { core_->forget_taken(id_); }
  server_lease(const server_lease&) = delete;
  server_lease& operator=(const server_lease&) = delete;

  bool post(std::function<void()> task) override {
    return core_->post_response([&] { net::post(strand_, std::move(task)); });
  }
  uint64_t id() const { return id_; }

private:
  const std::shared_ptr<server_core> core_;
  const net::any_io_executor strand_;
  const uint64_t id_;
};

// ---- server_core -----------------------------------------------------------

tcp::endpoint server_core::resolve_listen_address() const {
  beast::error_code ec;
  const auto address = net::ip::make_address(options_.host, ec);
  if (!ec) return {address, options_.port};
  net::io_context resolver_context;
  tcp::resolver resolver{resolver_context};
  const auto results = resolver.resolve(options_.host, std::to_string(options_.port),
                                        tcp::resolver::passive, ec);
  if (ec || results.empty())
    throw std::runtime_error("cannot listen on " + options_.host + ":" +
                             std::to_string(options_.port) + ": cannot resolve host: " +
                             (ec ? ec.message() : std::string("no address")));
  return results.begin()->endpoint();
}

void server_core::start() {
  std::lock_guard lifecycle{lifecycle_mutex_};
  if (started_ || stopped_) throw std::logic_error("http server: start() called twice or after stop()");

  const tcp::endpoint endpoint = resolve_listen_address();
  auto fail = [&](const char* step, const beast::error_code& ec) {
    beast::error_code ignored;
    acceptor_.close(ignored);
    throw std::runtime_error("cannot listen on " + options_.host + ":" +
                             std::to_string(options_.port) + ": " + step + ": " + ec.message());
  };
  beast::error_code ec;
  acceptor_.open(endpoint.protocol(), ec);
  if (ec) fail("open", ec);
  acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (ec) fail("SO_REUSEADDR", ec);
  acceptor_.bind(endpoint, ec);
  if (ec) fail("bind", ec);
  acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (ec) fail("listen", ec);
  bound_port_ = acceptor_.local_endpoint().port();

  started_ = true;
  work_.emplace(ioc_.get_executor());
  accept_next();
  const int thread_count = std::max(1, options_.threads);
  threads_.reserve(static_cast<std::size_t>(thread_count));
  for (int i = 0; i < thread_count; ++i) {
    threads_.emplace_back([this] {
      for (;;) {
        try {
          ioc_.run();
          return;
        } catch (const std::exception& e) {
          log_line() << "evmesh http server: unexpected exception: " << e.what();
        }
      }
    });
  }
}

void server_core::stop(std::chrono::milliseconds grace) {
  std::lock_guard lifecycle{lifecycle_mutex_};
  if (stopped_) return;
  stopped_ = true;
  if (!started_) return;

  {
    std::lock_guard lock{mutex_};
    stopping_ = true;  // adopt() refuses new sessions from here on
  }
  net::post(acceptor_.get_executor(), [self = shared_from_this()] {
    beast::error_code ignored;
    self->acceptor_.close(ignored);
    self->accept_retry_.cancel();
  });
  for (auto& s : live_sessions())
    net::post(s->executor(), [s] { s->on_server_stopping(); });
  for (auto& taken : live_taken()) taken->shut_down();

  {
    std::unique_lock lock{mutex_};
    responses_done_.wait_for(lock, grace,
                             [this] { return responses_owed_ == 0 && taken_.empty(); });
    accepting_responses_ = false;  // late responders now do nothing
  }
  for (auto& s : live_sessions())
    net::post(s->executor(), [s] { s->force_close(); });
  for (auto& taken : live_taken()) taken->abort();

  // With the acceptor and every socket closed, the threads run out of work.
  work_.reset();
  for (auto& t : threads_) t.join();
  threads_.clear();
  // No request can reach the handler any more. Dropping it here means that
  // whatever it captured is released even while late responders still keep
  // this core alive.
  on_request_ = nullptr;
}

void server_core::accept_next() {
  acceptor_.async_accept(net::make_strand(ioc_),
                         [self = shared_from_this()](const beast::error_code& ec, tcp::socket socket) {
                           self->on_accept(ec, std::move(socket));
                         });
}

void server_core::on_accept(const beast::error_code& ec, tcp::socket socket) {
  if (!acceptor_.is_open()) return;
  if (ec) {
    accept_retry_.expires_after(accept_retry_delay);
    accept_retry_.async_wait([self = shared_from_this()](const beast::error_code& wait_ec) {
      if (!wait_ec && self->acceptor_.is_open()) self->accept_next();
    });
    return;
  }
  adopt(std::move(socket));
  accept_next();
}

void server_core::adopt(tcp::socket socket) {
  auto s = std::make_shared<session>(shared_from_this(), std::move(socket));
  {
    std::lock_guard lock{mutex_};
    if (stopping_) return;  // s goes away here and closes the socket
    sessions_.emplace(s.get(), s);
  }
  s->start();
}

void server_core::forget(const session* s) {
  --open_connections_;
  std::lock_guard lock{mutex_};
  sessions_.erase(s);
}

std::vector<std::shared_ptr<session>> server_core::live_sessions() {
  std::vector<std::shared_ptr<session>> live;
  std::lock_guard lock{mutex_};
  live.reserve(sessions_.size());
  for (auto& [key, weak] : sessions_)
    if (auto s = weak.lock()) live.push_back(std::move(s));
  return live;
}

std::vector<std::shared_ptr<taken_connection>> server_core::live_taken() {
  std::vector<std::shared_ptr<taken_connection>> live;
  std::lock_guard lock{mutex_};
  for (auto& [id, weak] : taken_)
    if (auto t = weak.lock()) live.push_back(std::move(t));
  return live;
}

std::shared_ptr<server_lease> server_core::lease(const net::any_io_executor& strand) {
  std::lock_guard lock{mutex_};
  auto id = next_lease_id_++;
  taken_.emplace(id, std::weak_ptr<taken_connection>{});  // stop() waits for it from now on
  return std::make_shared<server_lease>(shared_from_this(), strand, id);
}

// A connection taken over while the server stops is ended at once: stop()
// may have looked for taken connections before this one was registered.
void server_core::keep_taken(uint64_t lease_id, const std::shared_ptr<taken_connection>& taken) {
  bool stopping = false;
  bool aborting = false;
  {
    std::lock_guard lock{mutex_};
    auto it = taken_.find(lease_id);
    if (it == taken_.end()) return;  // the lease is already gone
    it->second = taken;
    stopping = stopping_;
    aborting = !accepting_responses_;
  }
  if (aborting)
    taken->abort();
  else if (stopping)
    taken->shut_down();
}

void server_core::forget_taken(uint64_t lease_id) {
  std::lock_guard lock{mutex_};
  taken_.erase(lease_id);
  if (taken_.empty() && responses_owed_ == 0) responses_done_.notify_all();
}

void server_core::begin_response() {
  std::lock_guard lock{mutex_};
  ++responses_owed_;
}

void server_core::end_response() {
  std::lock_guard lock{mutex_};
  if (--responses_owed_ == 0 && taken_.empty()) responses_done_.notify_all();
}

template <class Post> bool server_core::post_response(Post&& post) {
  std::lock_guard lock{mutex_};
  if (!accepting_responses_) return false;
  std::forward<Post>(post)();
  return true;
}

// ---- session ---------------------------------------------------------------

void session::await_request() {
  phase_ = phase::reading;
  if (buffer_.size() > 0) {  // a pipelined request is already here
    read_request();
    return;
  }
  // Between requests the idle timeout applies; the read timeout starts with
  // the first byte of the next request.
  stream_.expires_after(core_->options().idle_timeout);
  stream_.async_read_some(buffer_.prepare(read_chunk_bytes),
                          [self = shared_from_this()](const beast::error_code& ec, std::size_t bytes) {
                            self->on_first_bytes(ec, bytes);
                          });
}

void session::on_first_bytes(const beast::error_code& ec, std::size_t bytes) {
  if (closed_) return;
  if (ec) {  // EOF, idle timeout, reset: nothing to answer
    close();
    return;
  }
  buffer_.commit(bytes);
  read_request();
}

void session::read_request() {
  const auto& options = core_->options();
  parser_.emplace();
  parser_->body_limit(options.max_body_bytes);
  parser_->header_limit(static_cast<std::uint32_t>(
      std::min<std::size_t>(options.max_header_bytes, std::numeric_limits<std::uint32_t>::max())));
  stream_.expires_after(options.read_timeout);
  beast_http::async_read_header(stream_, buffer_, *parser_,
                                [self = shared_from_this()](const beast::error_code& ec, std::size_t) {
                                  self->on_header(ec);
                                });
}

// The header is in (and a Content-Length over the limit has already failed
// it): refuse a body whose framing is ambiguous, then answer
// `Expect: 100-continue` so clients like curl send the body now.
void session::on_header(const beast::error_code& ec) {
  if (closed_ || handled_read_error(ec)) return;
  if (auto why = ambiguous_framing(parser_->get()); !why.empty()) {
    refuse(beast_http::status::bad_request, why);
    return;
  }
  if (parser_->is_done()) {
    on_request(ec);
    return;
  }
  if (!beast::iequals(parser_->get()[beast_http::field::expect], "100-continue")) {
    read_body();
    return;
  }
  stream_.expires_after(core_->options().read_timeout);
  net::async_write(stream_, net::buffer(continue_response.data(), continue_response.size()),
                   [self = shared_from_this()](const beast::error_code& write_ec, std::size_t) {
                     if (self->closed_) return;
                     if (write_ec) {
                       self->close();
                       return;
                     }
                     self->read_body();
                   });
}

void session::read_body() {
  beast_http::async_read(stream_, buffer_, *parser_,
                         [self = shared_from_this()](const beast::error_code& ec, std::size_t) {
                           self->on_request(ec);
                         });
}

void session::on_request(const beast::error_code& ec) {
  if (closed_ || handled_read_error(ec)) return;
  auto req = parser_->release();
  parser_.reset();
  dispatch(std::move(req));
}

// Answers or closes for a failed read; false when there was no error.
bool session::handled_read_error(const beast::error_code& ec) {
  if (!ec) return false;
  const auto& options = core_->options();
  if (ec == beast_http::error::body_limit) {
    refuse(beast_http::status::payload_too_large,
           "request body exceeds the limit of " + std::to_string(options.max_body_bytes) + " bytes");
  } else if (ec == beast_http::error::header_limit) {
    refuse(beast_http::status::bad_request, "request header exceeds the limit of " +
                                                std::to_string(options.max_header_bytes) + " bytes");
  } else if (ec == beast_http::error::end_of_stream || ec == beast_http::error::partial_message) {
    close();  // the client went away, possibly mid-request
  } else if (ec.category() == beast_http::make_error_code(beast_http::error::bad_target).category()) {
    refuse(beast_http::status::bad_request, "malformed request: " + ec.message());
  } else {
    close();  // timeout, reset, aborted
  }
  parser_.reset();
  return true;
}

void session::dispatch(request req) {
  phase_ = phase::handling;
  core_->count_request();
  core_->begin_response();
  request_version_ = req.version();
  request_keep_alive_ = req.keep_alive();
  request_is_head_ = req.method() == beast_http::verb::head;

  auto pending = std::make_shared<pending_response>(shared_from_this());
  responder respond{[pending](response res) { pending->answer(std::move(res)); },
                    [pending](response head, stream_options options) {
                      return pending->stream(std::move(head), std::move(options));
                    },
                    [pending](request taken_req, take_over_fn receiver) {
                      return pending->take_over(std::move(taken_req), std::move(receiver));
                    }};
  try {
    core_->request_handler()(std::move(req), respond);
  } catch (...) {
    pending->answer(make_problem(beast_http::status::internal_server_error,
                                 "internal error while handling the request"));
  }
}

void session::refuse(beast_http::status status, const std::string& detail) {
  core_->count_request();
  const unsigned version = parser_->get().version() == 10 ? 10 : 11;
  auto res = make_problem(status, detail, version, false);
  res.set(beast_http::field::server, "evmesh");
  write(std::move(res), false);
}

void session::deliver(response res) {
  const bool posted = core_->post_response([&] {
    net::post(strand_, [self = shared_from_this(), res = std::move(res)]() mutable {
      if (self->closed_) {
        self->core_->end_response();
        return;
      }
      self->finish_handler_response(res);
      self->write(std::move(res), true);
    });
  });
  if (!posted) core_->end_response();
}

// Keep-alive, version, length and Server header for a handler's response;
// a HEAD answer keeps the Content-Length but loses the body.
void session::finish_handler_response(response& res) {
  const bool asks_close = beast_http::token_list{res[beast_http::field::connection]}.exists("close");
  res.version(request_version_);
  res.keep_alive(request_keep_alive_ && !asks_close && !core_->stopping());
  res.set(beast_http::field::server, "evmesh");
  try {
    res.prepare_payload();
  } catch (const std::invalid_argument&) {  // e.g. a body on a 204
    res = make_problem(beast_http::status::internal_server_error,
                       "the request handler produced an invalid response", request_version_,
                       res.keep_alive());
    res.set(beast_http::field::server, "evmesh");
  }
  if (request_is_head_) res.body().clear();
}

void session::write(response res, bool owed_by_handler) {
  phase_ = phase::writing;
  outgoing_.emplace(std::move(res));
  stream_.expires_after(core_->options().read_timeout);
  beast_http::async_write(stream_, *outgoing_,
                          [self = shared_from_this(), owed_by_handler](const beast::error_code& ec,
                                                                       std::size_t) {
                            self->on_write(ec, owed_by_handler);
                          });
}

void session::on_write(const beast::error_code& ec, bool owed_by_handler) {
  const bool keep_alive = outgoing_->keep_alive();
  outgoing_.reset();
  if (owed_by_handler) core_->end_response();
  if (closed_) return;
  if (ec) {
    close();
  } else if (!keep_alive || core_->stopping()) {
    linger_close();
  } else {
    await_request();
  }
}

// Half-close, then read and discard until the client closes too (or the
// linger timeout), so unread request bytes don't turn our FIN into a reset
// that would destroy the response we just sent.
void session::linger_close() {
  phase_ = phase::closing;
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  if (ec) {
    close();
    return;
  }
  stream_.expires_after(linger_timeout);
  drain();
}

void session::drain() {
  buffer_.clear();
  stream_.async_read_some(buffer_.prepare(read_chunk_bytes),
                          [self = shared_from_this()](const beast::error_code& ec, std::size_t) {
                            if (self->closed_) return;
                            if (ec) {
                              self->close();
                              return;
                            }
                            self->drain();
                          });
}

void session::close() {
  if (closed_) return;
  closed_ = true;
  phase_ = phase::closing;
  stream_.close();
  core_->forget(this);
  notify_stream_end(stream_end::client_gone);
}

// ---- session: taking over ---------------------------------------------------

void session::begin_take_over(request req, take_over_fn receiver) {
  const bool posted = core_->post_response([&] {
    net::post(strand_, [self = shared_from_this(), req = std::move(req),
                        receiver = std::move(receiver)]() mutable {
      self->take_over(std::move(req), std::move(receiver));
    });
  });
  if (!posted) core_->end_response();  // stopped: force_close ends the connection
}

void session::take_over(request req, take_over_fn receiver) {
  if (closed_) {
    core_->end_response();
    return;
  }
  if (buffer_.size() > 0) {  // the client sent more before it got an answer
    auto res = make_problem(beast_http::status::bad_request,
                            "bytes arrived after the upgrade request before it was answered",
                            request_version_, false);
    finish_handler_response(res);
    write(std::move(res), true);
    return;
  }
  core_->end_response();
  closed_ = true;  // the socket is the receiver's now
  phase_ = phase::closing;
  core_->forget(this);
  auto lease = core_->lease(strand_);
  const auto lease_id = lease->id();
  std::shared_ptr<taken_connection> taken;
  try {
    taken = receiver(connection_handover{std::move(stream_), std::move(req), std::move(lease)});
  } catch (const std::exception& e) {
    log_line() << "evmesh http server: taking over a connection failed: " << e.what();
  }
  if (taken) core_->keep_taken(lease_id, taken);
}

// ---- session: streaming ------------------------------------------------------

std::shared_ptr<stream_writer> session::begin_stream(response head, stream_options options) {
  // request_version_ is set before the handler runs and not changed while it
  // works on this request.
  const bool chunked = request_version_ == 11;
  head.version(request_version_);
  head.set(beast_http::field::server, "evmesh");
  head.body().clear();
  head.erase(beast_http::field::content_length);
  if (chunked)
    head.chunked(true);
  else
    head.keep_alive(false);  // HTTP/1.0: the body ends when the connection does
  std::ostringstream text;
  text << head.base();
  auto channel = std::make_shared<stream_channel>(weak_from_this(), std::max<std::size_t>(1, options.max_queued_chunks), chunked);
  channel->queue_head(text.str());
  auto on_end = options.on_end;
  const bool posted = core_->post_response([&] {
    net::post(strand_, [self = shared_from_this(), channel, options = std::move(options)]() mutable {
      self->start_stream(std::move(channel), std::move(options));
    });
  });
  if (!posted) {
    core_->end_response();
    channel->mark_ended();
    if (on_end) on_end(stream_end::server_stopping);
  }
  return channel;
}

template <class Task> void session::post_stream_task(Task task) {
  core_->post_response([&] { net::post(strand_, std::move(task)); });
}

void session::start_stream(std::shared_ptr<stream_channel> channel, stream_options options) {
  core_->end_response();  // the head is the answer the handler owed
  channel_ = std::move(channel);
  on_stream_end_ = std::move(options.on_end);
  if (closed_ || core_->stopping()) {
    end_stream(closed_ ? stream_end::client_gone : stream_end::server_stopping);
    return;
  }
  phase_ = phase::streaming;
  keepalive_interval_ = options.keepalive_interval;
  keepalive_chunk_ = std::move(options.keepalive_chunk);
  stream_.expires_never();  // a stalled client is ended by the queue bound
  watch_stream_client();
  schedule_keepalive();
  flush_stream();
}

// Anything the client sends now is discarded; an error or EOF means it left.
void session::watch_stream_client() {
  buffer_.clear();
  stream_.async_read_some(buffer_.prepare(read_chunk_bytes),
                          [self = shared_from_this()](const beast::error_code& ec, std::size_t) {
                            if (self->closed_) return;
                            if (ec) {
                              self->end_stream(stream_end::client_gone);
                              return;
                            }
                            self->watch_stream_client();
                          });
}

void session::schedule_keepalive() {
  if (keepalive_interval_.count() <= 0 || keepalive_chunk_.empty()) return;
  keepalive_timer_.expires_after(keepalive_interval_);
  keepalive_timer_.async_wait([self = shared_from_this()](const beast::error_code& ec) {
    if (ec || self->closed_ || !self->channel_) return;
    self->channel_->write(self->keepalive_chunk_);
    self->schedule_keepalive();
  });
}

void session::flush_stream() {
  if (closed_ || !channel_ || !stream_writing_.empty()) return;
  stream_writing_ = channel_->take();
  if (stream_writing_.empty()) return;
  std::vector<net::const_buffer> buffers;
  buffers.reserve(stream_writing_.size());
  for (const auto& chunk : stream_writing_) buffers.emplace_back(chunk.data(), chunk.size());
  net::async_write(stream_, buffers,
                   [self = shared_from_this()](const beast::error_code& ec, std::size_t) {
                     self->on_stream_write(ec);
                   });
}

void session::on_stream_write(const beast::error_code& ec) {
  stream_writing_.clear();
  if (closed_ || !channel_) return;
  if (ec) {
    end_stream(stream_end::client_gone);
    return;
  }
  channel_->written();
  flush_stream();
}

void session::end_stream(stream_end why) {
  notify_stream_end(why);
  close();
}

void session::notify_stream_end(stream_end why) {
  if (!channel_) return;
  channel_->mark_ended();
  channel_.reset();
  keepalive_timer_.cancel();
  if (auto on_end = std::move(on_stream_end_)) {
    on_stream_end_ = nullptr;
    on_end(why);
  }
}

} // namespace

// ---- public interface ----------------------------------------------------

responder responder::observed(std::function<void(const response&)> observe) const {
  stream_fn stream;
  if (stream_)
    stream = [inner = *this, observe](response head, stream_options options) {
      observe(head);
      return inner.stream(std::move(head), std::move(options));
    };
  hand_over_fn hand_over;
  if (hand_over_)
    hand_over = [inner = *this](request req, take_over_fn receiver) {
      return inner.take_over(std::move(req), std::move(receiver));
    };
  return responder{answer_fn{[inner = *this, observe](response res) {
                     observe(res);
                     inner(std::move(res));
                   }},
                   std::move(stream), std::move(hand_over)};
}

struct server::impl final : server_core {
  using server_core::server_core;
};

server::server(server_options options, handler on_request)
    : impl_(std::make_shared<impl>(std::move(options), std::move(on_request))) {}

server::~server() { stop(); }

void server::start() { impl_->start(); }
uint16_t server::port() const { return impl_->port(); }
void server::stop(std::chrono::milliseconds grace) { impl_->stop(grace); }
uint64_t server::open_connections() const { return impl_->open_connections(); }
uint64_t server::requests_total() const { return impl_->requests_total(); }

} // namespace evmesh::http
