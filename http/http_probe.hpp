// The HTTP edge's probes: requests and responses, SSE and WebSocket
// connections (http_probe), and inbound webhooks by source and result
// (ingest_probe). Each owns its relaxed atomics and registers them in the
// node's one metrics registry (base/metrics_registry.hpp), which renders
// GET /metrics.
#pragma once

#include "base/metrics_registry.hpp"

#include <cstddef>
#include <string>

namespace evmesh {

struct http_probe {
  counter http_requests{0};
  counter http_responses_2xx{0};
  counter http_responses_4xx{0};
  counter http_responses_5xx{0};
  counter auth_failures{0};          // 401 and 403
  gauge sse_streams{0};              // SSE connections streaming now
  counter sse_closed_slow{0};        // SSE connections closed for falling behind
  gauge ws_connections{0};           // WebSocket connections open now
  counter ws_messages_received{0};   // messages from WebSocket clients
  counter ws_messages_sent{0};       // messages written to WebSocket clients
  counter ws_errors{0};              // error messages sent to WebSocket clients
  counter ws_closed_slow{0};         // WebSocket connections closed (1013) for falling behind

  void register_in(metrics_registry& registry) const;
};

// What became of one POST /v1/ingest/{source}.
enum class ingest_result {
  accepted,            // verified and stored (202)
  duplicate,           // verified, a redelivery of a stored delivery id (202)
  rejected_signature,  // no, a malformed or a wrong signature (401)
  rejected_stale,      // authentic but its timestamp is out of tolerance (401)
  rejected_invalid,    // verified, but no usable topic or delivery id (400)
  error,               // the store failed (503)
};
constexpr std::size_t ingest_result_count = 6;
const char* ingest_result_name(ingest_result r);

// evmesh_ingest_requests_total{source,result}: a source's first request
// makes its series for every result (so they show as 0). Sources are created
// by admins, so the label set stays bounded (max_sources keeps it so);
// requests to unknown sources are counted without a label (their names come
// from anyone).
class ingest_probe {
public:
  static constexpr std::size_t max_sources = 4096;

  void count(const std::string& source, ingest_result result);
  void register_in(metrics_registry& registry) const;

  counter unknown_source{0};  // POST /v1/ingest/{name} with no such source

private:
  counter_family requests_{{"source", "result"}, max_sources * ingest_result_count};
};

} // namespace evmesh
