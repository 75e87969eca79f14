// The HTTP edge's metric names and help, registered in the node's metrics
// registry (see http_probe.hpp).
#include "http/http_probe.hpp"

#include <vector>

namespace evmesh {

void http_probe::register_in(metrics_registry& r) const {
  r.add("http_requests_total", "HTTP requests handled.", http_requests);
  r.add("http_responses_total", "HTTP responses by status class.", metric_type::counter_type, [this] {
    auto sample = [](const char* cls, const counter& value) {
      return metric_sample{.labels = {{"class", cls}},
                           .value = static_cast<int64_t>(value.load(std::memory_order_relaxed))};
    };
    return std::vector<metric_sample>{sample("2xx", http_responses_2xx), sample("4xx", http_responses_4xx),
                                      sample("5xx", http_responses_5xx)};
  });
  r.add("auth_failures_total", "Requests refused with 401 or 403.", auth_failures);
  r.add("sse_streams", "SSE streams open now.", sse_streams);
  r.add("sse_closed_slow_total", "SSE streams closed because the client fell behind.", sse_closed_slow);
  r.add("ws_connections", "WebSocket connections open now.", ws_connections);
  r.add("ws_messages_received_total", "Messages received from WebSocket clients.", ws_messages_received);
  r.add("ws_messages_sent_total", "Messages written to WebSocket clients.", ws_messages_sent);
  r.add("ws_errors_total", "Error messages sent to WebSocket clients.", ws_errors);
  r.add("ws_closed_slow_total", "WebSocket connections closed (1013) because the client fell behind.",
        ws_closed_slow);
}

const char* ingest_result_name(ingest_result r) {
  switch (r) {
    case ingest_result::accepted: return "accepted";
    case ingest_result::duplicate: return "duplicate";
    case ingest_result::rejected_signature: return "rejected_signature";
    case ingest_result::rejected_stale: return "rejected_stale";
    case ingest_result::rejected_invalid: return "rejected_invalid";
    case ingest_result::error: return "error";
  }
  return "error";
}

void ingest_probe::count(const std::string& source, ingest_result result) {
  if (!requests_.has({source, ingest_result_name(result)}))  // first request: every result's series
    for (std::size_t i = 0; i < ingest_result_count; ++i)
      requests_.series({source, ingest_result_name(static_cast<ingest_result>(i))});
  if (auto* c = requests_.series({source, ingest_result_name(result)}))
    c->fetch_add(1, std::memory_order_relaxed);
}

void ingest_probe::register_in(metrics_registry& r) const {
  r.add("ingest_unknown_source_total", "Ingest requests naming no source (404).", unknown_source);
  r.add("ingest_requests_total", "Inbound webhook requests by source and result.", requests_);
}

} // namespace evmesh
