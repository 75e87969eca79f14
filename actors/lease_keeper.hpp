// The lease keeper: runs the delivery manager's lease rounds against the
// shared store (store/lease_table.hpp) on its own connection, detached, so a
// slow or unreachable database never holds up a scheduler thread, the store
// writer's appends, or the manager.
#pragma once

#include "actors/messages.hpp"
#include "store/lease_table.hpp"

#include <memory>

namespace evmesh {

using lease_keeper_actor = caf::typed_actor<
  // One lease round (renew, claim, release as the request says): what this
  // node holds afterwards, or why the round failed.
  caf::replies_to<lease_atom, lease_request>::with<lease_grant>>;

lease_keeper_actor spawn_lease_keeper(caf::actor_system& sys, std::unique_ptr<lease_table> leases);

} // namespace evmesh
