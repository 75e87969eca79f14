// The router: owns the subscription trie and fans events out to subscriber
// actors, one message per subscriber per routed batch. It bounds every
// subscriber's queue: a subscriber acknowledges what it consumed, and one
// that falls more than its limit behind is told it overflowed and dropped.
// It is also the only matcher for webhook endpoints: the delivery manager
// routes each endpoint's patterns here, and gets per routed batch, for each
// endpoint, the events that endpoint wants (a feed over its limit has
// batches dropped and is told, once, to catch up from the log).
#pragma once

#include "actors/messages.hpp"
#include "actors/probes.hpp"

namespace evmesh {

router_actor spawn_router(caf::actor_system& sys, routing_probe& probe);

} // namespace evmesh
