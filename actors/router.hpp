// The router: owns the subscription trie and fans events out to subscriber
// actors, one message per subscriber per routed batch. It bounds every
// subscriber's queue: a subscriber acknowledges what it consumed, and one
// that falls more than its limit behind is told it overflowed and dropped.
#pragma once

#include "actors/messages.hpp"
#include "base/metrics.hpp"

namespace evmesh {

router_actor spawn_router(caf::actor_system& sys, metrics& probe);

} // namespace evmesh
