// See gateway.hpp.
#include "actors/gateway.hpp"

namespace evmesh {

caf::actor spawn_gateway(caf::actor_system& sys) {
  return sys.spawn([](caf::event_based_actor* self) -> caf::behavior {
    return {[self](const gateway_job& job) { job(self); }};
  });
}

} // namespace evmesh
