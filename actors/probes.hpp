// The probes of the actor subsystems: the store (publishing, the writer and
// retention), routing (router and subscribers) and webhook delivery. Each
// probe owns its counters and gauges (plain relaxed atomics, so a hot-path
// increment costs next to nothing) and registers them, with their names and
// help, in the node's one metrics registry (base/metrics_registry.hpp), which
// renders GET /metrics. Nothing here is read to make a decision but store_up
// (/healthz answers by it).
#pragma once

#include "base/metrics_registry.hpp"
#include "store/store.hpp"

#include <atomic>
#include <memory>
#include <string>
#include <vector>

namespace evmesh {

struct store_probe {
  counter events_published{0};       // new events made durable
  counter events_duplicate{0};       // publishes of an id already stored
  counter events_rejected{0};        // refused before storing (validation)
  counter publish_errors{0};         // store failures answered with an error
  counter store_batches{0};          // append transactions
  counter store_batch_events{0};     // events in them
  counter store_append_micros{0};    // time spent in them
  counter retention_deleted{0};      // events removed by retention
  // The durable store's health, as the store writer last saw it: /healthz
  // answers 503 with `store_problem` while store_up is 0. /metrics shows
  // store_up with the store's figures (it is 0 too when the writer does not
  // answer), so it is not registered here.
  gauge store_up{1};
  counter store_errors{0};           // store operations that failed
  std::atomic<std::shared_ptr<const std::string>> store_problem;
  // 1 while the last append of events failed (e.g. the disk is full), 0
  // again after one succeeds: a store that still answers reads (and pings)
  // but cannot take events is not healthy. /healthz answers 503 with
  // `append_problem` while it is 1.
  gauge appends_failing{0};
  std::atomic<std::shared_ptr<const std::string>> append_problem;

  void register_in(metrics_registry& registry) const;
  // At scrape time, with the figures the store writer answered (null when
  // it did not): store_up, store_errors_total and the store's gauges.
  std::vector<metric_family> scraped(const store_stats* stats) const;
};

struct routing_probe {
  counter events_routed{0};          // events the router matched (any subscriber)
  counter deliveries{0};             // event × subscriber deliveries
  counter subscriber_errors{0};      // exceptions thrown by subscriber callbacks
  counter subscribers_dropped{0};    // subscribers closed for falling behind
  gauge subscribers{0};

  void register_in(metrics_registry& registry) const;
};

struct webhook_probe {
  counter attempts{0};               // webhook requests started
  counter delivered{0};              // webhook requests answered 2xx
  counter failed_attempts{0};        // webhook requests that did not get a 2xx
  counter failed_events{0};          // event x endpoint given up after the last retry
  counter endpoints_disabled{0};
  gauge endpoints{0};                // delivery actors running

  void register_in(metrics_registry& registry) const;
};

} // namespace evmesh
