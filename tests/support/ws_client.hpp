// WebSocket clients for tests, on Boost.Beast.
//   ws_client: one connection, used like a blocking client but every wait has
//     a deadline. A read, once started, stays pending across calls (a
//     timeout does not break the connection), and while a call runs the
//     client answers the server's pings, as any live client does.
//   ws_crowd: many connections on one io thread, for load tests; each
//     message goes to a callback on that thread.
// Nothing sleeps: waits run the io_context until a condition or a deadline.
#pragma once

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace evmesh::test {

namespace ws_detail {
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using clock = std::chrono::steady_clock;

inline void add_headers(websocket::stream<beast::tcp_stream>& ws,
                        const std::map<std::string, std::string>& headers) {
  ws.set_option(websocket::stream_base::decorator([headers](websocket::request_type& req) {
    for (const auto& [name, value] : headers)
      req.set(name, value);
  }));
}
} // namespace ws_detail

struct ws_close {
  uint16_t code = 0;
  std::string reason;
};

struct ws_client_options {
  std::map<std::string, std::string> headers;
  int receive_buffer = 0;  // > 0: SO_RCVBUF before connecting (a client meant to fall behind)
  std::chrono::milliseconds timeout{10000};
};

class ws_client {
public:
  using clock = ws_detail::clock;
  using options = ws_client_options;

  // Connects and does the handshake. A refused upgrade is not an error:
  // refused_status() says what the server answered instead.
  ws_client(uint16_t port, const std::string& target, options opts = {}) : ws_(ioc_) {
    namespace beast = ws_detail::beast;
    auto& socket = beast::get_lowest_layer(ws_).socket();
    socket.open(ws_detail::tcp::v4());
    if (opts.receive_buffer > 0)
      socket.set_option(ws_detail::net::socket_base::receive_buffer_size(opts.receive_buffer));
    beast::get_lowest_layer(ws_).expires_after(opts.timeout);
    socket.connect({ws_detail::net::ip::make_address("127.0.0.1"), port});
    ws_detail::add_headers(ws_, opts.headers);
    beast::error_code result = ws_detail::net::error::would_block;
    ws_.async_handshake(response_, "127.0.0.1:" + std::to_string(port), target,
                        [&](const beast::error_code& ec) { result = ec; });
    run_until([&] { return result != ws_detail::net::error::would_block; }, opts.timeout);
    beast::get_lowest_layer(ws_).expires_never();
    if (result == ws_detail::websocket::error::upgrade_declined)
      refused_status_ = response_.result_int();
    else if (result)
      throw std::runtime_error("websocket handshake failed: " + result.message());
    else
      open_ = true;
  }
  ws_client(const ws_client&) = delete;
  ws_client& operator=(const ws_client&) = delete;

  bool open() const { return open_; }
  int refused_status() const { return refused_status_; }
  const ws_detail::websocket::response_type& handshake_response() const { return response_; }

  void send(const std::string& text, bool binary = false) {
    ws_.binary(binary);
    ws_detail::beast::error_code result = ws_detail::net::error::would_block;
    ws_.async_write(ws_detail::net::buffer(text),
                    [&](const ws_detail::beast::error_code& ec, std::size_t) { result = ec; });
    run_until([&] { return result != ws_detail::net::error::would_block; }, std::chrono::seconds{10});
    if (result)
      throw std::runtime_error("websocket write failed: " + result.message());
  }
  void send(const nlohmann::json& message) { send(message.dump()); }

  // The next message, or nullopt if none arrives in time or the connection
  // ended (then closed() may say how).
  std::optional<std::string> next(std::chrono::milliseconds timeout = std::chrono::seconds{10}) {
    if (!open_)
      return std::nullopt;
    if (!reading_) {
      reading_ = true;
      read_done_ = false;
      ws_.async_read(buffer_, [this](const ws_detail::beast::error_code& ec, std::size_t) {
        reading_ = false;
        read_done_ = true;
        read_error_ = ec;
      });
    }
    run_until([&] { return read_done_; }, timeout);
    if (!read_done_)
      return std::nullopt;
    read_done_ = false;
    if (read_error_) {
      open_ = false;
      if (read_error_ == ws_detail::websocket::error::closed)
        close_ = ws_close{static_cast<uint16_t>(ws_.reason().code),
                          std::string(ws_.reason().reason.data(), ws_.reason().reason.size())};
      return std::nullopt;
    }
    auto text = ws_detail::beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    return text;
  }
  std::optional<nlohmann::json> next_json(std::chrono::milliseconds timeout = std::chrono::seconds{10}) {
    auto text = next(timeout);
    if (!text)
      return std::nullopt;
    return nlohmann::json::parse(*text);
  }
  // The next message whose "op" is `op` (others are skipped).
  std::optional<nlohmann::json> next_op(const std::string& op,
                                        std::chrono::milliseconds timeout = std::chrono::seconds{10}) {
    auto deadline = clock::now() + timeout;
    for (;;) {
      auto m = next_json(left(deadline));
      if (!m || (*m)["op"] == op)
        return m;
    }
  }
  // Reads (discarding) until the server closes; the close frame, or nullopt
  // on timeout or if the connection ended without one.
  std::optional<ws_close> wait_closed(std::chrono::milliseconds timeout = std::chrono::seconds{10}) {
    auto deadline = clock::now() + timeout;
    while (open_ && clock::now() < deadline)
      next(left(deadline));
    return close_;
  }
  std::optional<ws_close> closed() const { return close_; }

  // Starts the close handshake with `code` and waits for it to finish.
  void close(uint16_t code = 1000) {
    ws_detail::beast::error_code result = ws_detail::net::error::would_block;
    ws_.async_close(ws_detail::websocket::close_reason(code),
                    [&](const ws_detail::beast::error_code& ec) { result = ec; });
    run_until([&] { return result != ws_detail::net::error::would_block && !reading_; },
              std::chrono::seconds{10});
    open_ = false;
  }

private:
  static std::chrono::milliseconds left(clock::time_point deadline) {
    return std::max(std::chrono::milliseconds{0},
                    std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()));
  }
  template <class Done> void run_until(Done done, std::chrono::milliseconds timeout) {
    auto deadline = clock::now() + timeout;
    ioc_.restart();
    while (!done() && clock::now() < deadline)
      if (ioc_.run_one_until(deadline) == 0 && ioc_.stopped())
        return;  // nothing pending: nothing can change done()
  }

  ws_detail::net::io_context ioc_;
  ws_detail::websocket::stream<ws_detail::beast::tcp_stream> ws_;
  ws_detail::websocket::response_type response_;
  ws_detail::beast::flat_buffer buffer_;
  bool open_ = false;
  int refused_status_ = 0;
  bool reading_ = false;
  bool read_done_ = false;
  ws_detail::beast::error_code read_error_;
  std::optional<ws_close> close_;
};

// `count` WebSocket connections to one target, driven by one io thread.
// on_open(crowd, i) and on_message(crowd, i, text) run on that thread (and
// may call crowd.send); waiters are woken after each. Counters and waits are
// for the test thread.
class ws_crowd {
public:
  using clock = ws_detail::clock;
  using open_fn = std::function<void(ws_crowd& crowd, std::size_t client)>;
  using message_fn = std::function<void(ws_crowd& crowd, std::size_t client, const std::string& text)>;

  ws_crowd(uint16_t port, const std::string& target, std::size_t count, open_fn on_open,
           message_fn on_message)
      : on_open_(std::move(on_open)), on_message_(std::move(on_message)) {
    host_ = "127.0.0.1:" + std::to_string(port);
    for (std::size_t i = 0; i < count; ++i)
      clients_.push_back(std::make_unique<client>(ioc_));
    auto endpoint = ws_detail::tcp::endpoint{ws_detail::net::ip::make_address("127.0.0.1"), port};
    for (std::size_t i = 0; i < count; ++i)
      start(i, endpoint, target);
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~ws_crowd() {
    ioc_.stop();
    if (thread_.joinable())
      thread_.join();
  }
  ws_crowd(const ws_crowd&) = delete;
  ws_crowd& operator=(const ws_crowd&) = delete;

  // Queues `text` on client i. Any thread.
  void send(std::size_t i, std::string text) {
    ws_detail::net::post(ioc_, [this, i, text = std::move(text)]() mutable {
      auto& c = *clients_[i];
      c.outbox.push_back(std::move(text));
      write_next(i);
    });
  }
  // Closes every connection (close frame 1000). Any thread.
  void close_all() {
    ws_detail::net::post(ioc_, [this] {
      for (std::size_t i = 0; i < clients_.size(); ++i)
        if (clients_[i]->open && !clients_[i]->closing) {
          clients_[i]->closing = true;
          clients_[i]->ws.async_close(ws_detail::websocket::close_code::normal,
                                      [](const ws_detail::beast::error_code&) {});
        }
    });
  }

  std::size_t opened() const { return opened_; }
  std::size_t failed() const { return failed_; }
  std::size_t ended() const { return ended_; }
  std::size_t size() const { return clients_.size(); }

  // Waits (bounded) until `done()` holds; re-checked whenever a client
  // reports, and at least every 50 ms (so a missed wake-up only delays).
  bool wait(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
    auto deadline = clock::now() + timeout;
    std::unique_lock lock{mutex_};
    while (!done()) {
      if (clock::now() >= deadline)
        return false;
      changed_.wait_for(lock, std::chrono::milliseconds{50});
    }
    return true;
  }
private:
  void notify() { changed_.notify_all(); }

  struct client {
    explicit client(ws_detail::net::io_context& ioc) : ws(ioc) {}
    ws_detail::websocket::stream<ws_detail::beast::tcp_stream> ws;
    ws_detail::beast::flat_buffer buffer;
    std::vector<std::string> outbox;
    bool writing = false;
    bool open = false;
    bool closing = false;
  };

  void start(std::size_t i, const ws_detail::tcp::endpoint& endpoint, const std::string& target) {
    auto& c = *clients_[i];
    ws_detail::beast::get_lowest_layer(c.ws).expires_after(std::chrono::seconds{30});
    ws_detail::beast::get_lowest_layer(c.ws).async_connect(
      endpoint, [this, i, target](const ws_detail::beast::error_code& ec) {
        if (ec)
          return fail();
        clients_[i]->ws.async_handshake(host_, target, [this, i](const ws_detail::beast::error_code& hec) {
          if (hec)
            return fail();
          auto& cl = *clients_[i];
          ws_detail::beast::get_lowest_layer(cl.ws).expires_never();
          cl.open = true;
          ++opened_;
          if (on_open_)
            on_open_(*this, i);
          read_next(i);
          notify();
        });
      });
  }

  void read_next(std::size_t i) {
    auto& c = *clients_[i];
    c.ws.async_read(c.buffer, [this, i](const ws_detail::beast::error_code& ec, std::size_t) {
      auto& cl = *clients_[i];
      if (ec) {
        cl.open = false;
        ++ended_;
        notify();
        return;
      }
      auto text = ws_detail::beast::buffers_to_string(cl.buffer.data());
      cl.buffer.consume(cl.buffer.size());
      on_message_(*this, i, text);
      notify();
      read_next(i);
    });
  }

  void write_next(std::size_t i) {
    auto& c = *clients_[i];
    if (c.writing || c.outbox.empty() || !c.open || c.closing)
      return;
    c.writing = true;
    auto text = std::make_shared<std::string>(std::move(c.outbox.front()));
    c.outbox.erase(c.outbox.begin());
    c.ws.async_write(ws_detail::net::buffer(*text),
                     [this, i, text](const ws_detail::beast::error_code&, std::size_t) {
                       clients_[i]->writing = false;
                       write_next(i);
                     });
  }

  void fail() {
    ++failed_;
    notify();
  }

  ws_detail::net::io_context ioc_;
  std::string host_;
  std::vector<std::unique_ptr<client>> clients_;
  open_fn on_open_;
  message_fn on_message_;
  std::atomic<std::size_t> opened_{0};
  std::atomic<std::size_t> failed_{0};
  std::atomic<std::size_t> ended_{0};
  std::mutex mutex_;
  std::condition_variable changed_;
  std::thread thread_;
};

} // namespace evmesh::test
