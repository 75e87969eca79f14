// The bridge manager: the registry of WebSocket bridges (records of kind
// "bridge", see model/bridge_config.hpp) and the supervisor of the ones this
// node runs. It validates and stores every change through the store writer
// (which announces it to the cluster), applies the records peers replicate
// (forwarded by the controller), and runs a bridge actor (actors/bridge)
// for every bridge that is enabled and owned here: `owner_of` names the live
// member that rendezvous hashing picks for the bridge id — the same
// ownership as webhook endpoints — so exactly one node of a cluster runs
// each bridge; (br_owners_atom) re-decides after the live set changed. A
// changed bridge is restarted with its new definition. It keeps the latest
// status of each running bridge for GET /v1/bridges and /metrics.
//
// Messages: (controller_actor) once, then bridges start (outbound bridges
// subscribe through it); (put_rec_atom, registry_record) replicated;
// (br_owners_atom); from the edge (br_create_atom, body), (br_list_atom),
// (br_get_atom, id), (br_patch_atom, id, body), (br_delete_atom, id) →
// bridge_reply; (br_metrics_atom) → the bridges' metric families (rendered by the
// node's metrics registry); from bridge actors
// (br_status_atom, bridge_status).
#pragma once

#include "actors/bridge.hpp"

#include <functional>
#include <string>
#include <vector>

namespace evmesh {

struct bridge_manager_setup {
  std::string node_name;
  // The live member that runs the bridge with this id (this node's name
  // when the node is not clustered).
  std::function<std::string(const std::string& bridge_id)> owner_of;
  store_writer_actor writer;
  publisher_actor publisher;
  store_reader_actor reader;
  caf::actor gateway;
  ws_client::runner* connections = nullptr;  // outlives the manager
  std::vector<registry_record> records;      // as stored at start
  bool allow_private_targets = false;
  std::size_t subscriber_queue_limit = 65536;
  bridge_limits limits;
};

caf::actor spawn_bridge_manager(caf::actor_system& sys, bridge_manager_setup setup);

} // namespace evmesh

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(evmesh::bridge_manager_setup)
