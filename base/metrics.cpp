// Renders the probe in the Prometheus text format (version 0.0.4).
#include "base/metrics.hpp"

#include <sstream>

namespace evmesh {
namespace {

void write(std::ostringstream& out, const char* name, const char* type, const char* help,
           uint64_t value) {
  out << "# HELP evmesh_" << name << ' ' << help << "\n# TYPE evmesh_" << name << ' ' << type
      << "\nevmesh_" << name << ' ' << value << '\n';
}

} // namespace

std::string metrics::render(const std::string& extra) const {
  std::ostringstream out;
  auto c = [&](const char* name, const char* help, const counter& v) {
    write(out, name, "counter", help, v.load(std::memory_order_relaxed));
  };
  c("events_published_total", "Events made durable on this node.", events_published);
  c("events_duplicate_total", "Publishes of an id stored in the last 24 h.", events_duplicate);
  c("events_rejected_total", "Events refused by validation.", events_rejected);
  c("publish_errors_total", "Publishes answered with a store error.", publish_errors);
  c("store_batches_total", "Append transactions (group commits).", store_batches);
  c("store_batch_events_total", "Events written by append transactions.", store_batch_events);
  c("store_append_microseconds_total", "Time spent in append transactions.", store_append_micros);
  c("retention_deleted_total", "Events deleted by retention.", retention_deleted);
  c("events_routed_total", "Events matched by at least one subscription.", events_routed);
  c("deliveries_total", "Events handed to subscribers (event x subscriber).", deliveries);
  c("subscriber_errors_total", "Exceptions thrown by subscriber callbacks.", subscriber_errors);
  c("subscribers_dropped_total", "Subscribers closed for falling behind.", subscribers_dropped);
  write(out, "subscribers", "gauge", "Live subscriptions.",
        static_cast<uint64_t>(subscribers.load(std::memory_order_relaxed)));
  c("http_requests_total", "HTTP requests handled.", http_requests);
  out << "# HELP evmesh_http_responses_total HTTP responses by status class.\n"
         "# TYPE evmesh_http_responses_total counter\n"
      << "evmesh_http_responses_total{class=\"2xx\"} " << http_responses_2xx.load() << '\n'
      << "evmesh_http_responses_total{class=\"4xx\"} " << http_responses_4xx.load() << '\n'
      << "evmesh_http_responses_total{class=\"5xx\"} " << http_responses_5xx.load() << '\n';
  c("auth_failures_total", "Requests refused with 401 or 403.", auth_failures);
  write(out, "sse_streams", "gauge", "SSE streams open now.",
        static_cast<uint64_t>(sse_streams.load(std::memory_order_relaxed)));
  c("sse_closed_slow_total", "SSE streams closed because the client fell behind.", sse_closed_slow);
  write(out, "ws_connections", "gauge", "WebSocket connections open now.",
        static_cast<uint64_t>(ws_connections.load(std::memory_order_relaxed)));
  c("ws_messages_received_total", "Messages received from WebSocket clients.", ws_messages_received);
  c("ws_messages_sent_total", "Messages written to WebSocket clients.", ws_messages_sent);
  c("ws_errors_total", "Error messages sent to WebSocket clients.", ws_errors);
  c("ws_closed_slow_total", "WebSocket connections closed (1013) because the client fell behind.",
    ws_closed_slow);
  c("cluster_frames_received_total", "Well-formed frames received from peer nodes.",
    cluster_frames_received);
  c("cluster_frames_refused_total", "Frames from peers refused as malformed.", cluster_frames_refused);
  c("cluster_events_received_total", "New events received from peer nodes and stored.",
    cluster_events_received);
  c("cluster_events_sent_total", "Events sent to peer nodes (resends included).", cluster_events_sent);
  c("cluster_link_restarts_total", "Link streams restarted from the peer's cursor.",
    cluster_link_restarts);
  c("cluster_peers_refused_total", "Peers refused for not holding the cluster key.",
    cluster_peers_refused);
  write(out, "cluster_members_alive", "gauge", "Other cluster members alive now.",
        static_cast<uint64_t>(cluster_members_alive.load(std::memory_order_relaxed)));
  if (auto members = cluster_members.load())
    out << *members;
  c("webhook_attempts_total", "Webhook requests started.", webhook_attempts);
  c("webhook_delivered_total", "Webhook requests answered with a 2xx.", webhook_delivered);
  c("webhook_failed_attempts_total", "Webhook requests without a 2xx answer.", webhook_failed_attempts);
  c("webhook_failed_events_total", "Events given up for an endpoint after the last retry.", webhook_failed_events);
  c("webhook_endpoints_disabled_total", "Endpoints disabled (410 Gone, failing too long).", webhook_endpoints_disabled);
  write(out, "webhook_endpoints", "gauge", "Endpoints this node delivers to now.",
        static_cast<uint64_t>(webhook_endpoints.load(std::memory_order_relaxed)));
  c("ingest_unknown_source_total", "Ingest requests naming no source (404).", ingest_unknown_source);
  std::string per_source;
  ingest.render(per_source);
  out << per_source << extra;
  return out.str();
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

void ingest_counters::count(const std::string& source, ingest_result result) {
  std::lock_guard lock{mutex_};
  ++counts_[source][static_cast<std::size_t>(result)];
}

void ingest_counters::render(std::string& out) const {
  out += "# HELP evmesh_ingest_requests_total Inbound webhook requests by source and result.\n"
         "# TYPE evmesh_ingest_requests_total counter\n";
  std::lock_guard lock{mutex_};
  for (const auto& [source, counts] : counts_)
    for (std::size_t i = 0; i < ingest_result_count; ++i)
      out += "evmesh_ingest_requests_total{source=\"" + source + "\",result=\"" +
             ingest_result_name(static_cast<ingest_result>(i)) + "\"} " + std::to_string(counts[i]) + "\n";
}

} // namespace evmesh
