// A WebSocket server connection (RFC 6455, Boost.Beast), taken over from
// the HTTP server after an upgrade request. It answers the handshake, reads
// one message at a time and hands it to the handler, and writes what the
// handler sends — from any thread — through a bounded queue. Nothing blocks
// and nothing grows without bound:
//   - a client that falls more than max_queued_messages or max_queued_bytes
//     behind is closed with 1013 (try again later) and a reason;
//   - a message over max_message_bytes closes the connection with 1009;
//   - a client that sends nothing for idle_timeout / 2 is pinged, and closed
//     if nothing (not even the pong) arrives within idle_timeout;
//   - every close handshake, and the close of a client that no longer
//     reads, ends within close_timeout (1 s at most when the server stops).
// This is the generic transport; what the messages mean is the handler's
// business (http/ws_protocol for evmesh's JSON protocol).
#pragma once

#include "transports/http_server.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace evmesh::ws {

// One text message framed for the wire (RFC 6455: final, unmasked, text),
// so that one rendering serves every connection that sends it.
using frame = std::shared_ptr<const std::string>;
frame make_text_frame(std::string_view text);

// Why a connection ended (given once to handlers::on_end).
enum class end_reason {
  client_closed,    // the client sent a close frame
  server_closed,    // the handler called connection::close
  client_gone,      // reset, EOF, failed handshake, idle or close timeout, protocol error
  too_slow,         // the send queue overflowed: closed with 1013
  too_big,          // a message over max_message_bytes: closed with 1009
  server_stopping,  // the server stopped: closed with 1001
};
const char* to_string(end_reason why);

struct options {
  std::size_t max_message_bytes = 64 * 1024;
  std::size_t max_queued_messages = 4096;          // queued or being written
  std::size_t max_queued_bytes = 4 * 1024 * 1024;
  std::chrono::milliseconds idle_timeout{60000};   // 0: no pings, no idle close
  std::chrono::milliseconds close_timeout{5000};   // also bounds the opening handshake
};

// The handler's side of a connection. Thread-safe; never blocks.
class connection {
public:
  virtual ~connection() = default;
  // Queues a text message. False once the connection is ending, and for the
  // message that would overflow the queue (the connection then closes 1013).
  virtual bool send(frame message) = 0;
  bool send(std::string_view text) { return send(make_text_frame(text)); }
  // Closes with `code` and `reason` (at most 123 bytes); what is still queued
  // is dropped.
  virtual void close(uint16_t code, std::string reason) = 0;
  // Flow control: stops reading messages until resume_reading() (e.g. while
  // too many of the client's requests are in flight). Pings wait too.
  virtual void pause_reading() = 0;
  virtual void resume_reading() = 0;
};

struct handlers {
  // Each message, in order, one at a time, on the connection's strand.
  std::function<void(std::string message, bool binary)> on_message;
  // Messages written to the socket (for metrics), on the strand; optional.
  std::function<void(std::size_t messages)> on_written;
  // Once, when the connection has ended; no message follows it.
  std::function<void(end_reason why)> on_end;
};

// Whether `req` asks for a WebSocket upgrade (GET, Upgrade: websocket, ...).
bool is_upgrade(const http::request& req);

// Runs a WebSocket session on a connection taken over from the HTTP server
// (http::responder::take_over); `handover.req` must be an upgrade request.
// `make_handlers` is called once, on the strand, with the new connection
// (sends before the handshake completes are queued). Returns what the HTTP
// server ends when it stops.
std::shared_ptr<http::taken_connection> run_session(
  http::connection_handover handover, options opts,
  const std::function<handlers(std::shared_ptr<connection>)>& make_handlers);

} // namespace evmesh::ws
