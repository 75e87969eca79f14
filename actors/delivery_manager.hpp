// The delivery manager: spawns one delivery actor per endpoint this node
// owns, from the registry (the controller tells it of every endpoint at start
// and of every change), and feeds them. It is the webhook side's single
// subscriber with the router (subscribed to `>` while any endpoint runs): it
// matches each routed event against the endpoints' patterns (its own trie)
// and forwards per-endpoint batches with the last routed seq, which lets an
// idle endpoint's cursor follow the log. Every `flush_interval` it asks its
// actors for their progress and writes all of it in one store transaction.
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
// Messages: (controller_actor) once, to learn where disables go;
// (ep_update_atom, endpoint_config), (ep_remove_atom, id) from the
// controller; (replay_atom, replay_request) → replay_result from the edge;
// (flush_atom) → bool at node stop, then (release_atom) → bool (gives the
// leases up); the router's (deliver_atom, batch) and
// (overflow_atom, reason); the actors' (progress_atom, ...) and
// (ep_disable_atom, id, reason).
#pragma once

#include "actors/messages.hpp"
#include "base/metrics.hpp"
#include "transports/webhook_client.hpp"

#include <chrono>
#include <functional>
#include <memory>

namespace evmesh {

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
  metrics* probe = nullptr;
  // Shared store: the lease keeper (actors/lease_keeper.hpp) and the lease
  // length; unset on SQLite.
  caf::actor lease_keeper;
  std::chrono::milliseconds lease{10000};
};

caf::actor spawn_delivery_manager(caf::actor_system& sys, delivery_manager_setup setup);

} // namespace evmesh

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(evmesh::delivery_manager_setup)
