// One Server-Sent Events connection (GET /v1/sse): subscribes to the router
// through the controller, then streams matching events as SSE frames. With a
// resume point it first replays retained history after it, buffering live
// events meanwhile, and drops live events the history already covered, so
// the client sees every seq after the resume point once, in order. It never
// blocks: events go into the connection's bounded stream_writer, and a
// client that falls behind is disconnected (counted in the probe).
#pragma once

#include "actors/messages.hpp"
#include "node/metrics.hpp"
#include "transports/http_server.hpp"

#include <chrono>
#include <optional>
#include <string>

namespace evmesh {

struct sse_context {
  controller_actor controller;
  store_reader_actor reader;
  caf::actor gateway;
  std::size_t queue_limit = 65536;  // events a stream may lag behind
  std::chrono::milliseconds heartbeat{15000};
  metrics* probe = nullptr;
};

struct sse_request {
  std::string pattern;                 // validated, and covered by the caller's scopes
  std::optional<uint64_t> resume_after;  // Last-Event-ID or ?since=
  unsigned version = 11;               // of the HTTP request, for an error answer
};

// Answers through `respond`: 503 if the subscription cannot be made,
// otherwise a text/event-stream that lives until the client leaves, falls
// behind, or the node stops.
void start_sse(sse_context context, sse_request request, http::responder respond);

} // namespace evmesh
