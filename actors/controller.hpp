// The controller: the node's registry. It owns the tokens (persisted through
// the store writer, published to the HTTP edge as immutable snapshots) and
// the live subscriptions (it spawns each subscriber actor, registers it with
// the router, and forgets it when it ends). Later issues add endpoints and
// sources here, and replicate the registry to peers.
#pragma once

#include "actors/messages.hpp"
#include "node/auth.hpp"
#include "node/metrics.hpp"

#include <functional>

namespace evmesh {

// Receives a new auth table whenever tokens change (and once at start).
using auth_sink = std::function<void(auth_table_ptr)>;

struct controller_setup {
  store_writer_actor writer;
  router_actor router;
  std::vector<registry_record> tokens;  // as loaded from the store
  std::string admin_token_hash;
  auth_sink publish_auth;
  metrics* probe = nullptr;
};

controller_actor spawn_controller(caf::actor_system& sys, controller_setup setup);

} // namespace evmesh

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(evmesh::controller_setup)
