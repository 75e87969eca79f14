// A subscriber: one consumer of events (a callback or a host's CAF actor).
// It hands each delivered event to its target in order, acknowledges the
// batch to the router (which bounds its queue), and on overflow tells its
// target why it was closed, then exits.
#pragma once

#include "actors/messages.hpp"
#include "actors/probes.hpp"

namespace evmesh {

caf::actor spawn_subscriber(caf::actor_system& sys, subscriber_id id, subscriber_target target,
                            router_actor router, routing_probe& probe);

} // namespace evmesh
