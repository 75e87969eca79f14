// A delivery actor: one webhook endpoint on this node. Its queue is one or
// more logs filtered by the endpoint's patterns (store/delivery_store.hpp),
// each read from the endpoint's durable cursor there:
//   - SQLite: the node's own log. It catches up by scanning the log through
//     the store reader, then follows the live events the delivery manager
//     forwards (falling back to scanning whenever its bounded live buffer
//     overflows, so a slow or dead endpoint holds no more than that in
//     memory).
//   - shared store (PostgreSQL): every node's local events, in time order
//     across logs. It only scans, when a routed event says there is
//     something new, when it starts, and every 5 s (a node that died before
//     its events reached this one), and only while this node holds the
//     endpoint's lease.
//
// Per event: at-least-once, the same webhook-id on every attempt, attempts
// on the retry schedule with ±20 % jitter, Retry-After honoured on 429/503
// (no request to the endpoint before it passes), 410 disables the endpoint,
// and so do `disable_after` without a single success. At most
// `max_in_flight` requests at once (1 = FIFO: a waiting retry holds back
// later events); `rate_limit` through a token bucket; a circuit breaker
// stops requests to an endpoint that keeps failing and lets one probe
// through per cool-down.
//
// What must survive a crash goes to the store writer (via the manager, in
// batches): the cursor (every matching event at or below it is finished or
// has a delivery_states row), rows for events waiting for a retry / failed /
// delivered after retries, the attempt log and the endpoint's health.
//
// Its protocol is `delivery_actor` below.
#pragma once

#include "actors/messages.hpp"
#include "actors/probes.hpp"
#include "transports/webhook_client.hpp"

#include <chrono>
#include <memory>

namespace evmesh {

// Where a delivery actor asks for its endpoint to be disabled (the delivery
// manager, which passes it on to the controller).
using endpoint_disabler_actor = caf::typed_actor<
  // (endpoint id, reason): a 410 answer, or no success for disable_after.
  caf::reacts_to<ep_disable_atom, std::string, std::string>>;

using delivery_actor = caf::typed_actor<
  // From the manager: live events of this endpoint (SQLite: into the live
  // buffer; shared store: "scan again"), and the highest seq routed so far.
  caf::reacts_to<deliver_atom, std::vector<event_ptr>, uint64_t>,
  // From the manager's flush round, with the highest seq routed: what became
  // worth saving since the last tick (cursors, rows, attempts, health).
  caf::replies_to<tick_atom, uint64_t>::with<endpoint_progress>,
  // The endpoint's record changed (URL, patterns, secrets, limits).
  caf::reacts_to<ep_update_atom, endpoint_config>,
  // Rows a replay queued in the store: deliver them before fresh events.
  caf::reacts_to<replay_atom, std::vector<pending_delivery>>,
  // The live feed lost events: forget the live buffer, catch up from the log.
  caf::reacts_to<resync_atom>,
  // To itself: a retry, Retry-After pause, rate limit or breaker cool-down ended.
  caf::reacts_to<wake_atom>,
  // From the client pool's thread: the answer to request `number`.
  caf::reacts_to<posted_atom, uint64_t, webhook::post_result>>;

// The delivery actor's time: what it reads as "now" (retry due times,
// Retry-After, the breaker, the rate limit, signing timestamps, secret
// expiry, disable_after) and how it is woken when something becomes due.
// Production uses system_delivery_clock(); tests pass a clock they move by
// hand, so a retry schedule of hours runs in microseconds.
class delivery_clock {
public:
  virtual ~delivery_clock() = default;
  // Microseconds since the Unix epoch.
  virtual int64_t now_us() = 0;
  // Sends (wake_atom) to `target` once now_us() has reached `at_us` (at
  // once when it has already). Thread-safe.
  virtual void wake_at(const delivery_actor& target, int64_t at_us) = 0;
};

// The wall clock (evmesh::now_us) and CAF's timer (a delayed send).
std::shared_ptr<delivery_clock> system_delivery_clock();

struct delivery_setup {
  endpoint_config endpoint;
  store_writer_actor writer;
  store_reader_actor reader;
  endpoint_disabler_actor manager;
  std::shared_ptr<webhook::client_pool> client;
  std::vector<double> retry_schedule;  // empty: the contract's default
  std::chrono::milliseconds request_timeout{15000};
  int64_t disable_after_us = int64_t{5} * 24 * 3600 * 1000000;
  webhook_probe* probe = nullptr;
  bool shared = false;  // read every node's log (shared store) rather than this node's
  std::shared_ptr<delivery_clock> clock = system_delivery_clock();
};

delivery_actor spawn_delivery(caf::actor_system& sys, delivery_setup setup);

} // namespace evmesh

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(evmesh::delivery_setup)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(evmesh::webhook::post_result)
