// evmesh::node — one mesh node, embeddable in a host application. It owns a
// CAF actor system and the node's actors (publisher, router, controller,
// store); HTTP and cluster listeners are optional. The `evmesh node` binary is
// this class plus the command line. No CAF type appears here: a host that
// uses CAF includes evmesh/caf.hpp as well.
#pragma once

#include <evmesh/error.hpp>
#include <evmesh/event.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace evmesh {

struct subscriber_target;
struct caf_access;

struct node_config {
  std::string name;                                  // default: the host name
  std::filesystem::path data_dir = "./evmesh-data";  // SQLite store and admin.token
  std::string store;                                 // empty: SQLite in data_dir; postgres://…: PostgreSQL
  std::optional<std::string> http;                   // "HOST:PORT" to serve the HTTP API
  std::optional<std::string> cluster;                // "HOST:PORT" to link with peers (port 0 picks one)
  std::vector<std::string> join;                     // seed nodes' cluster addresses
  std::string cluster_key;                           // shared secret: CURVE on every link; empty: plain TCP
  // Without a cluster_key the cluster listener must be on loopback (anyone
  // who reaches a plain port is a member): a node whose `cluster` host is not
  // a loopback address or "localhost" refuses to start (errc::insecure_config)
  // unless this is set, and then logs a warning.
  bool insecure_cluster = false;
  std::chrono::milliseconds cluster_heartbeat{500};  // ping interval on each link
  std::chrono::milliseconds cluster_suspect_after{2000};  // silent this long: suspect
  std::chrono::milliseconds cluster_dead_after{6000};     // silent this long: dead
  std::string admin_token;                           // empty: read or create <data>/admin.token
  bool allow_private_targets = false;                // webhooks to loopback/private/link-local targets
  std::vector<double> retry_schedule;                // seconds; empty: the contract's default
  std::chrono::milliseconds webhook_timeout{15000};  // one webhook request, in all
  std::chrono::seconds webhook_disable_after{5 * 24 * 3600};  // failing this long without a success
  // PostgreSQL store: how long a node's claim on delivering an endpoint
  // lasts unrenewed (renewed every third of it); a dead node's endpoints
  // move to live nodes within about this long.
  std::chrono::milliseconds delivery_lease{10000};
  // WebSocket bridges reconnect after backoff_min, doubling up to backoff_max
  // (each ±20 % jitter).
  std::chrono::milliseconds bridge_backoff_min{500};
  std::chrono::milliseconds bridge_backoff_max{30000};

  std::size_t max_body_bytes = 1024 * 1024;          // HTTP request bodies; 413 beyond
  std::size_t subscriber_queue_limit = 65536;        // events a subscriber may lag behind
  std::chrono::milliseconds sse_heartbeat{15000};    // SSE comment heartbeat interval
  // WebSocket (GET /v1/ws): a client silent for half the idle timeout is
  // pinged, and closed if nothing arrives within all of it (0: never);
  // larger messages close the connection (1009); a client more than the
  // queue's messages or bytes behind is closed (1013). The byte bound must
  // exceed the largest event.
  std::chrono::milliseconds ws_idle_timeout{60000};
  std::size_t ws_max_message_bytes = 1024 * 1024;
  std::size_t ws_send_queue_messages = 4096;
  std::size_t ws_send_queue_bytes = 4 * 1024 * 1024;
  std::chrono::seconds retention_max_age{7 * 24 * 3600};  // 0: keep forever
  uint64_t retention_max_bytes = uint64_t{1} << 30;        // 0: no size cap
  std::chrono::seconds retention_interval{30};       // how often retention runs
  std::size_t max_batch_events = 4096;               // per store transaction
  int http_threads = 2;
  int worker_threads = 0;                            // CAF workers; 0: max(2, cores)
};

struct publish_options {
  std::string id;                             // empty: generated
  std::map<std::string, std::string> headers;
  bool binary = false;                        // data is raw bytes, not JSON text
};

struct publish_result {
  std::string id;
  uint64_t seq = 0;
  bool duplicate = false;  // the id was published before; nothing new was stored
};

// A live subscription; ends when cancelled or destroyed.
class subscription {
public:
  subscription() = default;
  subscription(subscription&&) noexcept = default;
  subscription& operator=(subscription&&) noexcept;
  ~subscription();
  void cancel();
  uint64_t id() const noexcept { return id_; }
  explicit operator bool() const noexcept { return static_cast<bool>(cancel_); }

private:
  friend class node;
  subscription(uint64_t id, std::function<void()> cancel) : id_(id), cancel_(std::move(cancel)) {}
  uint64_t id_ = 0;
  std::function<void()> cancel_;
};

class node {
public:
  // Opens the store, starts the actors and the listeners that are configured.
  // Throws evmesh::error or std::runtime_error when it cannot (e.g. the port
  // is taken, the data directory is not writable).
  explicit node(node_config config);
  ~node();  // stop()
  node(const node&) = delete;
  node& operator=(const node&) = delete;

  // Validates (throws evmesh::error on a bad topic, id or JSON data), then
  // publishes; the future is ready once the event is durable.
  std::future<publish_result> publish(const std::string& topic, std::string data,
                                      publish_options options = {});

  // Calls `on_event` for every event whose topic matches `pattern`, in publish
  // order, on a CAF worker thread (one at a time per subscription). A
  // subscriber that falls `subscriber_queue_limit` events behind is dropped
  // and `on_close` says why. Throws evmesh::error on a bad pattern.
  subscription subscribe(const std::string& pattern, std::function<void(const event&)> on_event,
                         std::function<void(const std::string&)> on_close = {});
  // A host application that uses CAF subscribes an actor instead:
  // evmesh/caf.hpp, the one header that names CAF.

  // Retained history with seq > after_seq whose topic matches, oldest first.
  std::vector<event> history(const std::string& pattern, uint64_t after_seq = 0,
                             std::size_t limit = 1000);

  const node_config& config() const;
  uint16_t http_port() const;          // 0 when no HTTP listener
  std::string cluster_address() const;
  // Where the durable state is: "sqlite <file>" or the PostgreSQL URL
  // without its password.
  std::string store_description() const; // HOST:PORT bound for peers; empty when not clustered
  const std::string& admin_token() const;

  // Stops accepting, finishes in-flight work, flushes the store. Idempotent.
  void stop();

private:
  friend struct caf_access;
  subscription subscribe_target(const std::string& pattern, subscriber_target target);
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace evmesh
