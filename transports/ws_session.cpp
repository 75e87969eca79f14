// See ws_session.hpp. One session per connection; everything but send(),
// close(), pause/resume and the server's shut_down/abort runs on the
// connection's strand. Those enter through the lease (or, for abort, a plain
// post: the server still runs its threads then).
//
// The send queue: producers append frames to `queue_` under the mutex; the
// strand swaps it into `batch_` and appends the batch to the socket layer
// (coalescing_socket) while it has room, which writes them in one go. The
// counts cover queue and batch, so the bound holds for everything the socket
// has not taken yet. `flush_posted_` says the strand will look at the queue
// again, so a producer posts at most one flush however many messages it adds.
// Data frames go after Beast's own frames only while Beast is open: never
// after a close frame.
//
// Ending: finish() runs once, drops the queue and tells the handler why,
// then releases the handlers (they may own what owns us). A close the server
// starts (begin_close) finishes at once — for the handler the connection is
// over — and then sends the close frame (after the frames the socket layer
// already holds) with a timer that aborts the socket if the client does not
// let the handshake end.
#include "transports/ws_session.hpp"

#include "transports/detail/coalescing_socket.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <optional>
#include <vector>

namespace evmesh::ws {
namespace {

namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
namespace net = boost::asio;

// Batch capacity kept between bursts; more is given back once used.
constexpr std::size_t kept_batch_capacity = 64;
constexpr std::size_t max_close_reason_bytes = 123;  // RFC 6455 5.5: 125 minus the code
// How long a stopping server waits for a client to answer its close frame.
constexpr std::chrono::milliseconds stop_close_timeout{1000};

// The read buffer: a flat_buffer that tells Beast it may grow only by as
// much as it holds (at least min_step bytes). Beast prepares up to that much
// (and at most 1536 bytes) before every read step, so the read an idle
// connection keeps pending holds 64 bytes instead of 1536; a large message
// takes four more small steps than with a plain flat_buffer. Beast enforces
// max_message_bytes on its own.
class growing_buffer {
public:
  using const_buffers_type = beast::flat_buffer::const_buffers_type;
  using mutable_buffers_type = beast::flat_buffer::mutable_buffers_type;

  std::size_t size() const noexcept { return buffer_.size(); }
  std::size_t max_size() const noexcept { return buffer_.size() + std::max(min_step, buffer_.size()); }
  std::size_t capacity() const noexcept { return buffer_.capacity(); }
  const_buffers_type data() const noexcept { return buffer_.data(); }
  mutable_buffers_type prepare(std::size_t n) { return buffer_.prepare(n); }
  void commit(std::size_t n) noexcept { buffer_.commit(n); }
  void consume(std::size_t n) noexcept { buffer_.consume(n); }
  void shrink_to_fit() { buffer_.shrink_to_fit(); }

private:
  static constexpr std::size_t min_step = 64;
  beast::flat_buffer buffer_;
};

class session final : public connection,
                      public http::taken_connection,
                      public std::enable_shared_from_this<session> {
public:
  session(http::connection_handover handover, options opts)
      : lease_(std::move(handover.lease)), options_(opts),
        ws_(coalescing_socket(handover.stream.release_socket(), lease_)),
        request_(std::move(handover.req)) {}
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  // Strand.
  void start(const std::function<handlers(std::shared_ptr<connection>)>& make_handlers) {
    handlers_ = make_handlers(shared_from_this());
    websocket::stream_base::timeout timeouts;
    timeouts.handshake_timeout = options_.close_timeout;
    if (options_.idle_timeout.count() > 0) {
      timeouts.idle_timeout = options_.idle_timeout;
      timeouts.keep_alive_pings = true;
    } else {
      timeouts.idle_timeout = websocket::stream_base::none();
      timeouts.keep_alive_pings = false;
    }
    ws_.set_option(timeouts);
    ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
      res.set(beast::http::field::server, "evmesh");
    }));
    ws_.read_message_max(options_.max_message_bytes);
    ws_.next_layer().on_room([weak = weak_from_this()] {
      if (auto self = weak.lock())
        self->write_queued();
    });
    ws_.async_accept(request_, [self = shared_from_this()](const beast::error_code& ec) {
      self->on_accept(ec);
    });
  }

  // --- connection (any thread) ---------------------------------------------

  bool send(frame text) override {
    bool post_flush = false;
    {
      std::lock_guard lock{mutex_};
      if (ending_)
        return false;
      if (queued_messages_ + 1 > options_.max_queued_messages ||
          queued_bytes_ + text->size() > options_.max_queued_bytes) {
        ending_ = true;  // only this send sees the overflow
      } else {
        queued_bytes_ += text->size();
        ++queued_messages_;
        queue_.push_back(std::move(text));
        post_flush = !std::exchange(flush_posted_, true);
      }
    }
    if (text) {  // not queued: it overflowed
      lease_->post([self = shared_from_this()] { self->close_too_slow(); });
      return false;
    }
    if (post_flush)
      lease_->post([self = shared_from_this()] { self->write_queued(); });
    return true;
  }

  void close(uint16_t code, std::string reason) override {
    lease_->post([self = shared_from_this(), code, reason = std::move(reason)]() mutable {
      self->begin_close(static_cast<websocket::close_code>(code), std::move(reason),
                        end_reason::server_closed);
    });
  }

  void pause_reading() override { paused_ = true; }

  void resume_reading() override {
    paused_ = false;
    lease_->post([self = shared_from_this()] { self->read_next(); });
  }

  // --- taken_connection (any thread) ---------------------------------------

  void shut_down() override {
    lease_->post([self = shared_from_this()] {
      self->begin_close(websocket::close_code::going_away, "the node is stopping",
                        end_reason::server_stopping,
                        std::min(stop_close_timeout, self->options_.close_timeout));
    });
  }

  void abort() override {
    net::post(ws_.get_executor(),
              [self = shared_from_this()] { self->abort_socket(end_reason::server_stopping); });
  }

private:
  void close_too_slow() {
    begin_close(websocket::close_code::try_again_later,
                "send queue over " + std::to_string(options_.max_queued_messages) + " messages or " +
                  std::to_string(options_.max_queued_bytes) + " bytes: the client reads too slowly",
                end_reason::too_slow);
  }

  void on_accept(const beast::error_code& ec) {
    request_ = {};  // not needed any more
    if (ec) {
      if (close_timer_)
        close_timer_->cancel();
      return finish(end_reason::client_gone);
    }
    open_ = true;
    if (closing_)  // asked to close during the handshake: say so now
      return send_close();
    if (finished_)
      return;
    read_next();
    write_queued();
  }

  // --- reading ---------------------------------------------------------------

  void read_next() {
    if (!open_ || finished_ || reading_ || paused_)
      return;
    reading_ = true;
    ws_.async_read(read_buffer_, [self = shared_from_this()](const beast::error_code& ec, std::size_t) {
      self->on_read(ec);
    });
  }

  void on_read(const beast::error_code& ec) {
    reading_ = false;
    if (ec) {
      if (close_timer_)
        close_timer_->cancel();
      return finish(classify(ec));
    }
    if (finished_)
      return;
    if (!closing_ && handlers_.on_message) {
      auto text = beast::buffers_to_string(read_buffer_.data());
      handlers_.on_message(std::move(text), ws_.got_binary());
    }
    read_buffer_.consume(read_buffer_.size());
    read_buffer_.shrink_to_fit();  // an idle connection keeps no read buffer
    read_next();
  }

  static end_reason classify(const beast::error_code& ec) {
    if (ec == websocket::error::closed)
      return end_reason::client_closed;
    if (ec == websocket::error::message_too_big)
      return end_reason::too_big;
    return end_reason::client_gone;
  }

  // --- writing ---------------------------------------------------------------

  void write_queued() {
    if (!open_ || closing_ || finished_ || !ws_.is_open())
      return;
    auto& socket = ws_.next_layer();
    while (socket.has_room()) {
      if (next_ == batch_.size() && !take_batch())
        break;
      socket.append(std::move(batch_[next_++]));
    }
    socket.flush();
  }

  // Retires the appended batch and takes what is queued; false if nothing is.
  bool take_batch() {
    const std::size_t written = batch_.size();
    if (written > 0 && handlers_.on_written)
      handlers_.on_written(written);
    batch_.clear();
    if (batch_.capacity() > kept_batch_capacity)
      batch_.shrink_to_fit();
    next_ = 0;
    std::lock_guard lock{mutex_};
    queued_messages_ -= written;
    queued_bytes_ -= batch_bytes_;
    batch_.swap(queue_);
    batch_bytes_ = 0;
    for (const auto& message : batch_)
      batch_bytes_ += message->size();
    if (batch_.empty())
      flush_posted_ = false;
    return !batch_.empty();
  }

  // --- ending ----------------------------------------------------------------

  void begin_close(websocket::close_code code, std::string reason, end_reason why) {
    begin_close(code, std::move(reason), why, options_.close_timeout);
  }

  void begin_close(websocket::close_code code, std::string reason, end_reason why,
                   std::chrono::milliseconds timeout) {
    if (closing_ || finished_)
      return;
    closing_ = true;
    finish(why);
    close_timer_.emplace(ws_.get_executor());
    close_timer_->expires_after(timeout);
    close_timer_->async_wait([self = shared_from_this(), why](const beast::error_code& ec) {
      if (!ec)
        self->abort_socket(why);
    });
    if (reason.size() > max_close_reason_bytes)
      reason.resize(max_close_reason_bytes);
    close_reason_ = websocket::close_reason{code, reason};
    if (open_)
      send_close();
    // else the opening handshake is still being answered: on_accept sends
    // the close frame when it is done, or the timer drops the socket.
  }

  void send_close() {
    ws_.async_close(close_reason_, [self = shared_from_this()](const beast::error_code&) {
      if (self->close_timer_)
        self->close_timer_->cancel();
    });
  }

  void abort_socket(end_reason why) {
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).close(ignored);
    finish(why);
  }

  // Stops sending: what is queued (and not being written) is dropped.
  void drop_queue() {
    std::lock_guard lock{mutex_};
    ending_ = true;
    queue_.clear();
    queued_messages_ = 0;
    queued_bytes_ = 0;
  }

  void finish(end_reason why) {
    if (finished_)
      return;
    finished_ = true;
    drop_queue();
    auto done = std::move(handlers_);
    handlers_ = {};
    if (done.on_end)
      done.on_end(why);
  }

  // Declared first so it goes last: the lease keeps the io_context alive
  // while the socket exists.
  const std::shared_ptr<http::connection_lease> lease_;
  const options options_;
  websocket::stream<coalescing_socket, false> ws_;
  http::request request_;  // the upgrade request, until the handshake is answered
  handlers handlers_;
  growing_buffer read_buffer_;
  std::optional<net::steady_timer> close_timer_;
  websocket::close_reason close_reason_;  // what begin_close decided to send
  std::atomic<bool> paused_{false};
  // Strand only.
  std::vector<frame> batch_;  // taken from the queue, going to the socket
  std::size_t next_ = 0;      // next message of batch_
  std::size_t batch_bytes_ = 0;
  bool open_ = false;
  bool reading_ = false;
  bool closing_ = false;
  bool finished_ = false;
  // Guarded by mutex_.
  std::mutex mutex_;
  std::vector<frame> queue_;
  std::size_t queued_messages_ = 0;  // queue_ plus batch_
  std::size_t queued_bytes_ = 0;
  bool flush_posted_ = false;
  bool ending_ = false;              // no more sends
};

} // namespace

frame make_text_frame(std::string_view text) {
  std::string out;
  const auto n = text.size();
  out.reserve(n + 10);
  out.push_back(static_cast<char>(0x81));  // FIN, text
  if (n < 126) {
    out.push_back(static_cast<char>(n));
  } else if (n <= 0xffff) {
    out.push_back(static_cast<char>(126));
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(n & 0xff));
  } else {
    out.push_back(static_cast<char>(127));
    for (int shift = 56; shift >= 0; shift -= 8)
      out.push_back(static_cast<char>((static_cast<uint64_t>(n) >> shift) & 0xff));
  }
  out.append(text);
  return std::make_shared<const std::string>(std::move(out));
}

const char* to_string(end_reason why) {
  switch (why) {
  case end_reason::client_closed:
    return "the client closed the connection";
  case end_reason::server_closed:
    return "closed by the server";
  case end_reason::client_gone:
    return "the client went away";
  case end_reason::too_slow:
    return "the client read too slowly";
  case end_reason::too_big:
    return "the client sent a message over the size limit";
  case end_reason::server_stopping:
    return "the server is stopping";
  }
  return "unknown";
}

bool is_upgrade(const http::request& req) { return websocket::is_upgrade(req); }

std::shared_ptr<http::taken_connection> run_session(
  http::connection_handover handover, options opts,
  const std::function<handlers(std::shared_ptr<connection>)>& make_handlers) {
  auto s = std::make_shared<session>(std::move(handover), opts);
  s->start(make_handlers);
  return s;
}

} // namespace evmesh::ws
