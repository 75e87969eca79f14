// One Server-Sent Events connection (GET /v1/sse): an event_feed (subscribe,
// replay from the resume point, live, each seq once and in order) whose
// events are written as SSE frames. It never blocks: events go into the
// connection's bounded stream_writer, and a client that falls behind is
// disconnected (counted in the probe).
#pragma once

#include "actors/event_feed.hpp"
#include "http/http_probe.hpp"
#include "transports/http_server.hpp"

#include <chrono>
#include <optional>
#include <string>

namespace evmesh {

struct sse_context {
  event_feed_context feed;  // its queue_limit also bounds the stream's chunks
  std::chrono::milliseconds heartbeat{15000};
  http_probe* probe = nullptr;
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
