// The delivery manager: spawns one delivery actor per endpoint this node
// owns, from the registry (the controller tells it of every endpoint at start
// and of every change), and feeds them. It matches nothing itself: it routes
// every running endpoint's patterns with the router (under a number of its
// own), which hands it per routed batch each endpoint's events, and it
// forwards those with the last routed seq, which lets an idle endpoint's
// cursor follow the log. Every `flush_interval` it asks its actors for their
// progress and writes all of it in one store transaction.
//
// Who delivers what:
//   - SQLite: the endpoints `owns` says this node owns (the cluster's
//     rendezvous hashing; always true alone), each from this node's log.
//   - shared store (PostgreSQL, `lease_keeper` set): the endpoints whose
//     lease this node holds (store/lease_table.hpp), each from every node's
//     log. Every third of the lease (and at once when it learns of a new
//     endpoint `owns` gives it) it runs a lease round: renew what it holds,
//     claim what `owns` gives it (when free or expired), claim any endpoint
//     nobody has renewed for a whole lease more, and release what `owns`
//     gives another node (so work spreads as nodes join). A holder that
//     cannot renew stops delivering before its claims may lapse; its
//     progress is saved under the lease's fence.
// A delivery actor that fails (its store was down when it opened) is
// started again a second later.
//
// Its protocol is `delivery_manager_actor` below.
#pragma once

#include "actors/delivery.hpp"
#include "actors/lease_keeper.hpp"
#include "actors/messages.hpp"
#include "actors/probes.hpp"
#include "transports/webhook_client.hpp"

#include <chrono>
#include <functional>
#include <memory>

namespace evmesh {

using delivery_manager_actor = webhook_feed_actor::extend<
  // Once at start: the controller, where disables go.
  caf::reacts_to<controller_actor>,
  // From the controller (and the cluster on ownership changes): an endpoint
  // was created or changed, or this node's view of who owns it moved.
  caf::reacts_to<ep_update_atom, endpoint_config>,
  // From the controller: an endpoint was deleted (its delivery state too).
  caf::reacts_to<ep_remove_atom, std::string>,
  // From a delivery actor: (endpoint id, reason) to disable; passed on.
  caf::reacts_to<ep_disable_atom, std::string, std::string>,
  // From the HTTP edge: queue a range of the log again for one endpoint.
  caf::replies_to<replay_atom, replay_request>::with<replay_result>,
  // At node stop: answers once every actor's progress is in the store.
  caf::replies_to<flush_atom>::with<bool>,
  // At node stop, after the flush: stop delivering, give every lease up.
  caf::replies_to<release_atom>::with<bool>,
  // To itself: time for a flush round (every flush_interval).
  caf::reacts_to<tick_atom>,
  // To itself: time for a lease round (shared store, every third of a lease).
  caf::reacts_to<lease_atom>,
  // To itself: start a delivery actor that failed a second ago again.
  caf::reacts_to<wake_atom, std::string>>;

struct delivery_manager_setup {
  store_writer_actor writer;
  store_reader_actor reader;
  router_actor router;
  std::shared_ptr<webhook::client_pool> client;
  std::vector<double> retry_schedule;
  std::chrono::milliseconds request_timeout{15000};
  int64_t disable_after_us = int64_t{5} * 24 * 3600 * 1000000;
  std::chrono::milliseconds flush_interval{200};
  // Whether this node delivers for the endpoint (the cluster's ownership).
  std::function<bool(const std::string& endpoint_id)> owns = [](const std::string&) { return true; };
  webhook_probe* probe = nullptr;
  // Shared store: the lease keeper (actors/lease_keeper.hpp) and the lease
  // length; unset on SQLite.
  lease_keeper_actor lease_keeper;
  std::chrono::milliseconds lease{10000};
};

delivery_manager_actor spawn_delivery_manager(caf::actor_system& sys, delivery_manager_setup setup);

} // namespace evmesh

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(evmesh::delivery_manager_setup)
