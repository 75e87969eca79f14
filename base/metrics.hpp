// The node's probe: counters and gauges that actors and the HTTP edge bump,
// rendered as Prometheus text at GET /metrics. Plain relaxed atomics: a
// counter increment must cost next to nothing on the hot path, and nothing
// here is read to make a decision but store_up and appends_failing (/healthz
// answers by them).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace evmesh {

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

// evmesh_ingest_requests_total{source,result}. Sources are created by
// admins, so the label set stays bounded; requests to unknown sources are
// counted without a label (their names come from anyone).
class ingest_counters {
public:
  void count(const std::string& source, ingest_result result);
  void render(std::string& out) const;

private:
  mutable std::mutex mutex_;
  std::map<std::string, std::array<uint64_t, ingest_result_count>> counts_;
};

struct metrics {
  using counter = std::atomic<uint64_t>;

  counter events_published{0};       // new events made durable
  counter events_duplicate{0};       // publishes of an id already stored
  counter events_rejected{0};        // refused before storing (validation)
  counter publish_errors{0};         // store failures answered with an error
  counter store_batches{0};          // append transactions
  counter store_batch_events{0};     // events in them
  counter store_append_micros{0};    // time spent in them
  counter retention_deleted{0};      // events removed by retention
  counter events_routed{0};          // events the router matched (any subscriber)
  counter deliveries{0};             // event × subscriber deliveries
  counter subscriber_errors{0};      // exceptions thrown by subscriber callbacks
  counter subscribers_dropped{0};    // subscribers closed for falling behind
  std::atomic<int64_t> subscribers{0};
  counter http_requests{0};
  counter http_responses_2xx{0};
  counter http_responses_4xx{0};
  counter http_responses_5xx{0};
  counter auth_failures{0};          // 401 and 403
  std::atomic<int64_t> sse_streams{0};  // SSE connections streaming now
  counter sse_closed_slow{0};        // SSE connections closed for falling behind
  std::atomic<int64_t> ws_connections{0};  // WebSocket connections open now
  counter ws_messages_received{0};   // messages from WebSocket clients
  counter ws_messages_sent{0};       // messages written to WebSocket clients
  counter ws_errors{0};              // error messages sent to WebSocket clients
  counter ws_closed_slow{0};         // WebSocket connections closed (1013) for falling behind
  counter cluster_frames_received{0};   // frames from peers, well-formed
  counter cluster_frames_refused{0};    // frames from peers that failed to decode
  counter cluster_events_received{0};   // events from peers stored here (new)
  counter cluster_events_sent{0};       // events sent to peers (resends included)
  counter cluster_link_restarts{0};     // link streams restarted (gap, reconnect, timeout)
  counter cluster_peers_refused{0};     // CURVE handshakes refused (wrong cluster key)
  std::atomic<int64_t> cluster_members_alive{0};
  // Prometheus lines per member (evmesh_cluster_member_state), rendered by
  // the cluster manager on every membership change; null when not clustered.
  std::atomic<std::shared_ptr<const std::string>> cluster_members;
  counter webhook_attempts{0};       // webhook requests started
  counter webhook_delivered{0};      // webhook requests answered 2xx
  counter webhook_failed_attempts{0};  // webhook requests that did not get a 2xx
  counter webhook_failed_events{0};  // event x endpoint given up after the last retry
  counter webhook_endpoints_disabled{0};
  std::atomic<int64_t> webhook_endpoints{0};  // delivery actors running
  ingest_counters ingest;
  counter ingest_unknown_source{0};  // POST /v1/ingest/{name} with no such source
  // The durable store's health, as the store writer last saw it: /healthz
  // answers 503 with `store_problem` while store_up is 0.
  std::atomic<int64_t> store_up{1};
  counter store_errors{0};           // store operations that failed
  std::atomic<std::shared_ptr<const std::string>> store_problem;
  // 1 while the last append of events failed (e.g. the disk is full), 0
  // again after one succeeds: a store that still answers reads (and pings)
  // but cannot take events is not healthy. /healthz answers 503 with
  // `append_problem` while it is 1.
  std::atomic<int64_t> appends_failing{0};
  std::atomic<std::shared_ptr<const std::string>> append_problem;

  // Prometheus exposition text; `extra` is appended verbatim (gauges read
  // at scrape time, e.g. store and connection figures).
  std::string render(const std::string& extra) const;
};

} // namespace evmesh
