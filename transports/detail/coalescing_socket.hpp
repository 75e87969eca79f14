// The stream under a WebSocket session's Beast stream, and the one path by
// which bytes reach the TCP socket. Two kinds of bytes come in, in order:
//   - frames the session appends itself: text messages framed once
//     (ws::make_text_frame) and shared by every connection that sends them;
//   - what Beast writes (pings, pongs, the close frame): copied, and the
//     write completed at once.
// Whatever has come in goes to the socket in one gathered write as soon as
// the previous write is done, so the frames of many messages queued together
// (a fan-out burst) leave in one system call instead of one each, without a
// copy. Beast hands each of its frames over in a single write (the whole
// buffer is always accepted), so frames never interleave. Past
// max_buffered_bytes the session stops appending and a Beast write completes
// only once the bytes have drained: backpressure reaches the session's
// bounded queue. Reads go straight to the socket. Used only by ws_session.cpp.
#pragma once

#include "transports/http_server.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/saved_handler.hpp>
#include <boost/beast/websocket/teardown.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace evmesh::ws {

class coalescing_socket {
public:
  using socket_type = boost::asio::ip::tcp::socket;
  using executor_type = socket_type::executor_type;
  using next_layer_type = socket_type;
  using lowest_layer_type = socket_type;
  using bytes = std::shared_ptr<const std::string>;

  // `lease` keeps the server's io_context alive while a write is in flight.
  coalescing_socket(socket_type socket, std::shared_ptr<http::connection_lease> lease,
                    std::size_t max_buffered_bytes = 64 * 1024)
      : state_(std::make_shared<state>(std::move(socket), std::move(lease), max_buffered_bytes)) {}

  executor_type get_executor() noexcept { return state_->socket.get_executor(); }
  socket_type& next_layer() noexcept { return state_->socket; }
  socket_type& lowest_layer() noexcept { return state_->socket; }

  // --- the session's side (on the strand) ------------------------------------

  // Whether more may be appended now.
  bool has_room() const { return state_->buffered_bytes() < state_->max_buffered; }
  // Appends a whole frame; false once writing has failed.
  bool append(bytes whole_frame) {
    if (state_->error)
      return false;
    state_->add(std::move(whole_frame));
    return true;
  }
  // Starts writing what was appended, unless a write is in flight (then it
  // follows that one).
  void flush() { state_->flush(); }
  // Called on the strand whenever a write has completed and there is room.
  void on_room(std::function<void()> fn) { state_->room = std::move(fn); }

  // --- Beast's side ----------------------------------------------------------

  template <class MutableBuffers, class ReadHandler>
  auto async_read_some(const MutableBuffers& buffers, ReadHandler&& handler) {
    return state_->socket.async_read_some(buffers, std::forward<ReadHandler>(handler));
  }

  template <class ConstBuffers, class WriteHandler>
  auto async_write_some(const ConstBuffers& buffers, WriteHandler&& handler) {
    return boost::asio::async_initiate<WriteHandler, void(boost::system::error_code, std::size_t)>(
      [st = state_](auto completion, const ConstBuffers& data) {
        const auto n = boost::asio::buffer_size(data);
        if (st->error) {
          boost::asio::post(st->socket.get_executor(),
                            [h = std::move(completion), ec = st->error]() mutable { h(ec, 0); });
          return;
        }
        std::string copy(n, '\0');
        boost::asio::buffer_copy(boost::asio::buffer(copy), data);
        st->add(std::make_shared<const std::string>(std::move(copy)));
        st->flush();
        if (st->buffered_bytes() <= st->max_buffered) {
          boost::asio::post(st->socket.get_executor(),
                            [h = std::move(completion), n]() mutable { h(boost::system::error_code{}, n); });
          return;
        }
        // Over the bound: this write completes once the bytes have drained.
        st->blocked.emplace([h = std::move(completion), st, n]() mutable {
          h(st->error, st->error ? 0 : n);
        });
      },
      handler, buffers);
  }

  // Beast's closing handshake: what is buffered (the close frame last) goes
  // out first, then the TCP connection is torn down as for a plain socket.
  template <class TeardownHandler>
  friend void async_teardown(boost::beast::role_type role, coalescing_socket& s,
                             TeardownHandler&& handler) {
    s.state_->after_flush(
      [st = s.state_, role, h = std::forward<TeardownHandler>(handler)]() mutable {
        boost::beast::websocket::async_teardown(role, st->socket, std::move(h));
      });
  }

private:
  struct state : std::enable_shared_from_this<state> {
    state(socket_type s, std::shared_ptr<http::connection_lease> l, std::size_t max)
        : lease(std::move(l)), socket(std::move(s)), max_buffered(max) {}

    std::size_t buffered_bytes() const { return pending_bytes + in_flight_bytes; }

    void add(bytes data) {
      pending_bytes += data->size();
      pending.push_back(std::move(data));
    }

    void flush() {
      if (writing || pending.empty() || error)
        return;
      writing = true;
      in_flight.swap(pending);
      in_flight_bytes = std::exchange(pending_bytes, 0);
      buffers.clear();
      buffers.reserve(in_flight.size());
      for (const auto& data : in_flight)
        buffers.emplace_back(data->data(), data->size());
      boost::asio::async_write(socket, buffers,
                               [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                                 self->on_written(ec);
                               });
    }

    void on_written(const boost::system::error_code& ec) {
      writing = false;
      in_flight.clear();
      in_flight_bytes = 0;
      buffers.clear();
      if (in_flight.capacity() > kept_frames) {  // an idle connection keeps no big lists
        std::vector<bytes>().swap(in_flight);
        std::vector<boost::asio::const_buffer>().swap(buffers);
      }
      if (ec && !error)
        error = ec;
      flush();
      if (blocked.has_value() && (error || buffered_bytes() <= max_buffered))
        blocked.invoke();
      if (flushed() && then.has_value())
        then.invoke();
      if (!error && room && buffered_bytes() < max_buffered)
        room();
    }

    bool flushed() const { return !writing && (pending.empty() || error); }

    // Runs `fn` once nothing is buffered or being written (or writing failed).
    template <class Fn> void after_flush(Fn fn) {
      if (flushed())
        boost::asio::post(socket.get_executor(), std::move(fn));
      else
        then.emplace(std::move(fn));
    }

    static constexpr std::size_t kept_frames = 64;
    const std::shared_ptr<http::connection_lease> lease;  // first in, last out
    socket_type socket;
    const std::size_t max_buffered;
    std::vector<bytes> pending;    // appended, not yet handed to the socket
    std::size_t pending_bytes = 0;
    std::vector<bytes> in_flight;  // being written
    std::size_t in_flight_bytes = 0;
    std::vector<boost::asio::const_buffer> buffers;  // in_flight, for the gathered write
    bool writing = false;
    boost::system::error_code error;  // the first failed write; later writes fail with it
    boost::beast::saved_handler blocked;  // a Beast write over the bound, completed once drained
    boost::beast::saved_handler then;     // the teardown, waiting for the last bytes
    std::function<void()> room;
  };

  std::shared_ptr<state> state_;
};

} // namespace evmesh::ws
