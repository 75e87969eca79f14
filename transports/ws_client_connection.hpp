// The client side of WebSocket (RFC 6455) for bridges: one outbound
// connection to a ws:// or wss:// server, with Boost.Beast on the io
// threads of a `ws_client_runner`. It resolves the host once, keeps only the
// addresses the SSRF guard allows and connects to those, verifies TLS
// (system store or a CA file, host name, SNI), sends the upgrade with the
// caller's extra headers, then reads messages (only as far as the owner has
// granted credit, so a slow owner slows the peer down instead of buffering)
// and writes queued messages in order. Every step runs on the connection's
// strand; the owner (an actor) hears of everything through the callbacks,
// which run there too and must only post a message onward.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace evmesh::ws_client {

struct options {
  bool allow_private_targets = false;
  std::string ca_file;                        // extra trust anchors (PEM); empty: system store only
  std::chrono::milliseconds connect_timeout{10000};  // resolve + TCP + TLS + upgrade
  std::chrono::milliseconds idle_timeout{30000};     // ping after half of it silent, close after all of it
  std::size_t max_message_bytes = 1024 * 1024;       // larger messages close the connection
};

class connection;
using connection_ptr = std::shared_ptr<connection>;
struct callbacks;

// The io_context threads and TLS context every bridge connection of a node
// runs on. It must outlive every holder of a connection_ptr (the node
// destroys it after its actors are gone).
class runner {
public:
  explicit runner(options opts, int threads = 1);
  ~runner();  // stop()
  runner(const runner&) = delete;
  runner& operator=(const runner&) = delete;
  // Closes every connection without calling back and joins the threads.
  // Idempotent.
  void stop();

  // Starts connecting to `url` (ws:// or wss://) with extra upgrade
  // headers. A URL that does not parse ends in on_closed with the reason.
  connection_ptr open(const std::string& url, std::vector<std::pair<std::string, std::string>> headers,
                      callbacks events);

  struct impl;  // public so the connection in the .cpp can name it

private:
  std::shared_ptr<impl> impl_;
};

// What a connection tells its owner, on the connection's strand, never
// concurrently. After on_closed nothing more is called.
struct callbacks {
  std::function<void()> on_open;                                     // upgraded
  std::function<void(std::string message, bool binary)> on_message;  // uses one credit
  std::function<void()> on_sent;                                     // one queued message written
  std::function<void(std::string why)> on_closed;                    // once, also when opening failed
};

class connection {
public:
  virtual ~connection() = default;
  // Queues a text message (thread-safe; written in order once open).
  virtual void send(std::string text) = 0;
  // Lets the connection read `n` more messages (thread-safe).
  virtual void grant(std::size_t n) = 0;
  // Closes (normal closure when open); on_closed follows. Thread-safe,
  // idempotent.
  virtual void close() = 0;
};

} // namespace evmesh::ws_client
