// The cluster manager: membership, the node's side of interest, endpoint
// ownership and the registry's replication (registry_sync). Every node
// announces the patterns of every enabled webhook endpoint, so each stores
// every event an endpoint wants; the endpoint's owner (rendezvous over the
// live members) delivers it. It keeps
// the member table (heard from the listener and the links; heartbeats tick
// it to suspect and dead), dials every member it learns of (seeds first,
// then gossip) with one link each, passes the node's local subscription
// patterns to the listener (which announces them to peers), and answers
// GET /v1/cluster, including which live node owns a key (rendezvous).
#pragma once

#include "cluster/curve.hpp"
#include "cluster/messages.hpp"
#include "cluster/peer_link.hpp"

#include <caf/all.hpp>

#include <functional>
#include <string>
#include <vector>

namespace evmesh::cluster {

struct manager_setup {
  std::string name;
  std::string addr;
  uint64_t incarnation = 0;
  std::vector<std::string> seeds;
  link_setup link_template;  // the per-peer fields are filled in per link
  std::chrono::milliseconds heartbeat{500};
  std::chrono::milliseconds suspect_after{2000};
  std::chrono::milliseconds dead_after{6000};
  cluster_probe* probe = nullptr;
  // Registry replication: local records are published through the
  // publisher; records from peers are stored by the writer and applied by
  // the controller. `records` are the ones stored at start.
  publisher_actor publisher;
  store_writer_actor writer;
  controller_actor controller;
  std::vector<registry_record> records;
  // Endpoint ownership: told the live member names whenever they change
  // (the node keeps them for the delivery manager's `owns`), after which the
  // delivery manager hears of every endpoint again to start or stop it.
  std::function<void(std::vector<std::string>)> live_changed;
  caf::actor delivery_manager;
};

// Spawns the manager; it spawns the links. Its protocol is manager_actor
// (cluster/messages.hpp): the node tells it the listener, which gets the
// interest updates; the router reports local patterns to it.
manager_actor spawn_manager(caf::actor_system& sys, manager_setup setup);

} // namespace evmesh::cluster
