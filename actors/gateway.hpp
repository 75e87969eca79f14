// The gateway: how code on threads CAF does not own (Beast's io threads, a
// host's main thread) asks an actor and gets the answer as a callback,
// without blocking. The caller sends a closure; the gateway runs it in its
// own context, where it may `request(...).then(...)` any actor with a
// timeout. One long-lived gateway multiplexes every outstanding request.
#pragma once

#include <caf/all.hpp>

#include <functional>

namespace evmesh {

using gateway_job = std::function<void(caf::event_based_actor* self)>;

caf::actor spawn_gateway(caf::actor_system& sys);

// Runs `job` inside the gateway. Thread-safe, never blocks.
inline void run_in_gateway(const caf::actor& gateway, gateway_job job) {
  caf::anon_send(gateway, std::move(job));
}

} // namespace evmesh

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(evmesh::gateway_job)
