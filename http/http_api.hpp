// The HTTP edge: the contract's /v1 API, /healthz and /metrics, on top of
// transports/http_server. Each handler parses and checks the request on the
// io thread, then hands the work to an actor (the publisher directly, others
// through the gateway) and answers from the callback; nothing here blocks.
#pragma once

#include "actors/messages.hpp"
#include "model/auth.hpp"
#include "actors/probes.hpp"
#include "base/metrics_registry.hpp"
#include "http/http_probe.hpp"
#include "model/source.hpp"
#include "transports/http_server.hpp"
#include "transports/ws_session.hpp"

#include <chrono>
#include <functional>

namespace evmesh {

struct http_api_context {
  std::string node_name;
  std::string store;  // where the durable state is (no password)
  publisher_actor publisher;
  store_reader_actor reader;
  store_writer_actor writer;
  controller_actor controller;
  caf::actor delivery_manager;
  caf::actor bridge_manager;
  caf::actor gateway;
  caf::actor cluster_manager;  // null when the node runs alone
  std::function<auth_table_ptr()> auth;  // the current token table
  std::function<uint64_t()> open_connections;
  std::size_t subscriber_queue_limit = 65536;  // per SSE stream
  std::chrono::milliseconds sse_heartbeat{15000};
  ws::options websocket;                       // per WebSocket connection
  // The probes the edge bumps (and the store's, which /healthz reads), and
  // the registry GET /metrics renders; all outlive the handler.
  http_probe* probe = nullptr;
  ingest_probe* ingest = nullptr;
  store_probe* stored = nullptr;
  const metrics_registry* registry = nullptr;
  std::function<source_table_ptr()> sources;  // the current inbound sources
};

http::handler make_http_api(http_api_context context);

// The 202 answer to a publish once the store replied: `{"id","seq",
// "duplicate"?}` (an array of them for a batch), or 503 with Retry-After
// when nothing was stored.
http::response publish_answer(const publish_reply& reply, bool batch, unsigned version, bool keep_alive);

} // namespace evmesh
