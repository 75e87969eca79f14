// The publisher: every event enters the mesh here. It stamps id and time,
// gathers concurrent publishes into one batch while the previous batch is
// being committed (group commit without a timer: a lone event goes at once),
// acks each caller once its events are durable, and hands the new events to
// the router in log order.
#pragma once

#include "actors/messages.hpp"
#include "actors/probes.hpp"

#include <string>

namespace evmesh {

publisher_actor spawn_publisher(caf::actor_system& sys, store_writer_actor writer,
                                router_actor router, std::size_t max_batch_events,
                                store_probe& probe);

} // namespace evmesh
