// The actor subsystems' metric names and help, registered in the node's
// metrics registry (see probes.hpp).
#include "actors/probes.hpp"

namespace evmesh {

void store_probe::register_in(metrics_registry& r) const {
  r.add("events_published_total", "Events made durable on this node.", events_published);
  r.add("events_duplicate_total", "Publishes of an id stored in the last 24 h.", events_duplicate);
  r.add("events_rejected_total", "Events refused by validation.", events_rejected);
  r.add("publish_errors_total", "Publishes answered with a store error.", publish_errors);
  r.add("store_batches_total", "Append transactions (group commits).", store_batches);
  r.add("store_batch_events_total", "Events written by append transactions.", store_batch_events);
  r.add("store_append_microseconds_total", "Time spent in append transactions.", store_append_micros);
  r.add("retention_deleted_total", "Events deleted by retention.", retention_deleted);
}

std::vector<metric_family> store_probe::scraped(const store_stats* stats) const {
  auto one = [](const char* name, const char* help, metric_type type, uint64_t value) {
    return metric_family{.name = name, .help = help, .type = type,
                         .samples = {{.labels = {}, .value = static_cast<int64_t>(value)}}};
  };
  bool up = stats && store_up.load(std::memory_order_relaxed) == 1;
  std::vector<metric_family> out{
    one("store_up", "1 while the store answers; 0 from a failed store operation until one succeeds.",
        metric_type::gauge_type, up ? 1 : 0),
    one("store_appends_failing", "1 while the last append of events failed (e.g. disk full); 0 after one succeeds.",
        metric_type::gauge_type, appends_failing.load(std::memory_order_relaxed) == 1 ? 1 : 0),
    one("store_errors_total", "Store operations that failed.", metric_type::counter_type,
        store_errors.load(std::memory_order_relaxed))};
  if (stats) {
    out.push_back(one("store_first_seq", "Oldest retained seq (0: empty).", metric_type::gauge_type, stats->first_seq));
    out.push_back(one("store_last_seq", "Newest seq.", metric_type::gauge_type, stats->last_seq));
    out.push_back(one("store_events", "Events retained.", metric_type::gauge_type, stats->events));
    out.push_back(one("store_bytes", "Payload bytes retained.", metric_type::gauge_type, stats->bytes));
  }
  return out;
}

void routing_probe::register_in(metrics_registry& r) const {
  r.add("events_routed_total", "Events matched by at least one subscription.", events_routed);
  r.add("deliveries_total", "Events handed to subscribers (event x subscriber).", deliveries);
  r.add("subscriber_errors_total", "Exceptions thrown by subscriber callbacks.", subscriber_errors);
  r.add("subscribers_dropped_total", "Subscribers closed for falling behind.", subscribers_dropped);
  r.add("subscribers", "Live subscriptions.", subscribers);
}

void webhook_probe::register_in(metrics_registry& r) const {
  r.add("webhook_attempts_total", "Webhook requests started.", attempts);
  r.add("webhook_delivered_total", "Webhook requests answered with a 2xx.", delivered);
  r.add("webhook_failed_attempts_total", "Webhook requests without a 2xx answer.", failed_attempts);
  r.add("webhook_failed_events_total", "Events given up for an endpoint after the last retry.", failed_events);
  r.add("webhook_endpoints_disabled_total", "Endpoints disabled (410 Gone, failing too long).", endpoints_disabled);
  r.add("webhook_endpoints", "Endpoints this node delivers to now.", endpoints);
}

} // namespace evmesh
