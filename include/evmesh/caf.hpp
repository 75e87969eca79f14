// The embedding API for host applications that use CAF 0.17 themselves: the
// node's actor system (to spawn host actors on the same scheduler) and
// subscriptions that deliver to an actor. The only public header that names
// a CAF type, so a host without CAF never sees CAF and a CAF upgrade
// touches this file alone.
#pragma once

#include <evmesh/caf_messages.hpp>
#include <evmesh/node.hpp>

#include <caf/actor.hpp>

#include <string>

namespace caf {
class actor_system;
}

namespace evmesh {

// The actor system the node runs on.
caf::actor_system& system_of(node& n);

// Sends every event whose topic matches `pattern` to `target` as an
// evmesh::event_ptr message, in publish order. Throws evmesh::error on a bad
// pattern.
subscription subscribe(node& n, const std::string& pattern, caf::actor target);

} // namespace evmesh
