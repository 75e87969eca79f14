// The lease keeper: runs the delivery manager's lease rounds against the
// shared store (store/lease_table.hpp) on its own connection, detached, so a
// slow or unreachable database never holds up a scheduler thread, the store
// writer's appends, or the manager.
//
// Messages: (lease_atom, lease_request) → lease_grant.
#pragma once

#include "actors/messages.hpp"
#include "store/lease_table.hpp"

#include <memory>

namespace evmesh {

caf::actor spawn_lease_keeper(caf::actor_system& sys, std::unique_ptr<lease_table> leases);

} // namespace evmesh
