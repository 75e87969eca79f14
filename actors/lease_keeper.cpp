// See lease_keeper.hpp.
#include "actors/lease_keeper.hpp"

namespace evmesh {
namespace {

lease_keeper_actor::behavior_type keeper(lease_keeper_actor::pointer, std::shared_ptr<lease_table> leases) {
  return {
    [leases](lease_atom, const lease_request& request) {
      lease_grant out;
      try {
        out.held = leases->round(request);
      } catch (const std::exception& e) {
        out.error = e.what();
      }
      return out;
    },
  };
}

} // namespace

lease_keeper_actor spawn_lease_keeper(caf::actor_system& sys, std::unique_ptr<lease_table> leases) {
  return sys.spawn<caf::detached>(keeper, std::shared_ptr<lease_table>(std::move(leases)));
}

} // namespace evmesh
