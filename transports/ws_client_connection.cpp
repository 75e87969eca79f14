// See ws_client_connection.hpp. One `session` per connection, templated on
// the stream (plain TCP or TLS); every member is touched only on its strand.
// The pending operations own the session (as in Beast's examples), so the
// session ends with the io_context at the latest; the runner must therefore
// outlive everything that holds a connection_ptr.
#include "transports/ws_client_connection.hpp"

#include "transports/outbound_connect.hpp"
#include "base/ssrf_guard.hpp"
#include "base/url_target.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <deque>
#include <optional>
#include <thread>

namespace evmesh::ws_client {

namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;

struct runner::impl {
  explicit impl(options opts) : settings(std::move(opts)), tls(make_verifying_tls_context(settings.ca_file)) {}
  options settings;
  ssl::context tls;
  net::io_context ioc;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::vector<std::thread> threads;
};

runner::runner(options opts, int threads) : impl_(std::make_shared<impl>(std::move(opts))) {
  impl_->work.emplace(impl_->ioc.get_executor());
  for (int i = 0; i < std::max(1, threads); ++i)
    impl_->threads.emplace_back([ioc = &impl_->ioc] { ioc->run(); });
}

runner::~runner() { stop(); }

void runner::stop() {
  if (!impl_->work)
    return;
  impl_->work.reset();
  impl_->ioc.stop();
  for (auto& t : impl_->threads)
    t.join();
  impl_->threads.clear();
}

namespace {

using plain_stream = websocket::stream<beast::tcp_stream>;
using tls_stream = websocket::stream<beast::ssl_stream<beast::tcp_stream>>;

template <class Stream>
class session : public connection, public std::enable_shared_from_this<session<Stream>> {
  static constexpr bool is_tls = std::is_same_v<Stream, tls_stream>;

public:
  session(runner::impl& on, url_target target, std::vector<std::pair<std::string, std::string>> headers,
          callbacks events)
    : settings_(on.settings), strand_(net::make_strand(on.ioc)), resolver_(strand_), target_(std::move(target)),
      headers_(std::move(headers)), events_(std::move(events)) {
    if constexpr (is_tls)
      ws_.emplace(strand_, on.tls);
    else
      ws_.emplace(strand_);
  }

  void start() {
    net::dispatch(strand_, [self = this->shared_from_this()] { self->resolve(); });
  }

  void send(std::string text) override {
    net::post(strand_, [self = this->shared_from_this(), text = std::move(text)]() mutable {
      if (self->finished_)
        return;
      self->outbox_.push_back(std::move(text));
      self->write_next();
    });
  }

  void grant(std::size_t n) override {
    net::post(strand_, [self = this->shared_from_this(), n] {
      self->credit_ += n;
      self->read_next();
    });
  }

  void close() override {
    net::post(strand_, [self = this->shared_from_this()] {
      if (self->finished_ || self->closing_)
        return;
      self->closing_ = true;
      if (!self->open_)
        return self->finish("closed before it opened");
      self->ws_->async_close(websocket::close_code::normal,
                             [self](const beast::error_code&) { self->finish("closed by the node"); });
    });
  }

private:
  auto& lowest() { return beast::get_lowest_layer(*ws_); }

  void resolve() {
    if (auto why = refuse_target_name(target_.host, settings_.allow_private_targets); !why.empty())
      return finish(why);
    resolver_.async_resolve(target_.host, target_.port,
                            [self = this->shared_from_this()](const beast::error_code& ec,
                                                              tcp::resolver::results_type results) {
                              self->on_resolve(ec, std::move(results));
                            });
  }

  void on_resolve(const beast::error_code& ec, tcp::resolver::results_type results) {
    if (finished_)
      return;
    if (ec)
      return finish("cannot resolve " + target_.host + ": " + ec.message());
    std::string refusal;
    auto allowed = allowed_endpoints(results, settings_.allow_private_targets, refusal);
    if (allowed.empty())
      return finish(refusal.empty() ? "no address for " + target_.host : refusal);
    lowest().expires_after(settings_.connect_timeout);
    lowest().async_connect(allowed, [self = this->shared_from_this()](const beast::error_code& e, const tcp::endpoint&) {
      self->on_connect(e);
    });
  }

  void on_connect(const beast::error_code& ec) {
    if (finished_)
      return;
    if (ec)
      return finish("cannot connect to " + target_.host_header() + ": " + describe(ec));
    if constexpr (is_tls) {
      if (!expect_tls_host(ws_->next_layer(), target_.host))
        return finish("cannot set TLS SNI for " + target_.host);
      ws_->next_layer().async_handshake(ssl::stream_base::client,
                                        [self = this->shared_from_this()](const beast::error_code& e) {
                                          if (self->finished_)
                                            return;
                                          if (e)
                                            return self->finish("TLS handshake with " + self->target_.host_header() +
                                                                " failed: " + self->describe(e));
                                          self->upgrade();
                                        });
    } else {
      upgrade();
    }
  }

  void upgrade() {
    lowest().expires_never();  // the WebSocket stream keeps its own timers from here
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = settings_.connect_timeout;
    timeouts.idle_timeout = settings_.idle_timeout.count() > 0
                              ? std::chrono::duration_cast<std::chrono::steady_clock::duration>(settings_.idle_timeout)
                              : websocket::stream_base::none();
    timeouts.keep_alive_pings = settings_.idle_timeout.count() > 0;
    ws_->set_option(timeouts);
    ws_->read_message_max(settings_.max_message_bytes);
    ws_->set_option(websocket::stream_base::decorator([headers = headers_](websocket::request_type& req) {
      req.set(beast::http::field::user_agent, std::string("evmesh/") + EVMESH_VERSION);
      for (const auto& [name, value] : headers)
        req.set(name, value);
    }));
    ws_->async_handshake(target_.host_header(), target_.path,
                         [self = this->shared_from_this()](const beast::error_code& ec) {
                           if (self->finished_)
                             return;
                           if (ec)
                             return self->finish("the WebSocket upgrade failed: " + self->describe(ec));
                           self->open_ = true;
                           if (self->closing_)
                             return self->finish("closed by the node");
                           self->events_.on_open();
                           self->read_next();
                           self->write_next();
                         });
  }

  void read_next() {
    if (!open_ || finished_ || reading_ || credit_ == 0)
      return;
    reading_ = true;
    ws_->async_read(inbox_, [self = this->shared_from_this()](const beast::error_code& ec, std::size_t) {
      self->reading_ = false;
      if (self->finished_)
        return;
      if (ec)
        return self->finish(self->describe(ec));
      --self->credit_;
      auto message = beast::buffers_to_string(self->inbox_.data());
      self->inbox_.consume(self->inbox_.size());
      self->events_.on_message(std::move(message), !self->ws_->got_text());
      self->read_next();
    });
  }

  void write_next() {
    if (!open_ || finished_ || closing_ || writing_ || outbox_.empty())
      return;
    writing_ = true;
    ws_->text(true);
    ws_->async_write(net::buffer(outbox_.front()), [self = this->shared_from_this()](const beast::error_code& ec,
                                                                                    std::size_t) {
      self->writing_ = false;
      if (self->finished_)
        return;
      if (ec)
        return self->finish(self->describe(ec));
      self->outbox_.pop_front();
      self->events_.on_sent();
      self->write_next();
    });
  }

  std::string describe(const beast::error_code& ec) const {
    if (ec == websocket::error::closed) {
      const auto& reason = ws_->reason();
      return "the server closed the connection (code " + std::to_string(reason.code) +
             (reason.reason.empty() ? std::string{} : ", " + std::string(reason.reason.c_str())) + ")";
    }
    if (ec == beast::error::timeout)
      return "timed out";
    return ec.message();
  }

  // Ends the connection once: the socket closes, the owner hears why, and
  // the callbacks (which hold the owner's address) are released.
  void finish(std::string why) {
    if (finished_)
      return;
    finished_ = true;
    open_ = false;
    outbox_.clear();
    resolver_.cancel();
    beast::error_code ignored;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    lowest().socket().close(ignored);
    auto events = std::exchange(events_, {});
    events.on_closed(std::move(why));
  }

  const options& settings_;
  net::strand<net::io_context::executor_type> strand_;
  tcp::resolver resolver_;
  std::optional<Stream> ws_;
  url_target target_;
  std::vector<std::pair<std::string, std::string>> headers_;
  callbacks events_;
  beast::flat_buffer inbox_;
  std::deque<std::string> outbox_;
  std::size_t credit_ = 0;
  bool open_ = false;
  bool reading_ = false;
  bool writing_ = false;
  bool closing_ = false;
  bool finished_ = false;
};

template <class Stream>
connection_ptr start_session(runner::impl& on, url_target target,
                             std::vector<std::pair<std::string, std::string>> headers, callbacks events) {
  auto s = std::make_shared<session<Stream>>(on, std::move(target), std::move(headers), std::move(events));
  s->start();
  return s;
}

// A connection that failed before it began: it only reports why.
class refused_connection : public connection {
public:
  void send(std::string) override {}
  void grant(std::size_t) override {}
  void close() override {}
};

} // namespace

connection_ptr runner::open(const std::string& url, std::vector<std::pair<std::string, std::string>> headers,
                            callbacks events) {
  std::string error;
  auto target = parse_url_target(url, url_family::websocket, error);
  if (!error.empty()) {
    events.on_closed(error);
    return std::make_shared<refused_connection>();
  }
  auto& on = *impl_;
  return target.tls ? start_session<tls_stream>(on, std::move(target), std::move(headers), std::move(events))
                    : start_session<plain_stream>(on, std::move(target), std::move(headers), std::move(events));
}

} // namespace evmesh::ws_client
