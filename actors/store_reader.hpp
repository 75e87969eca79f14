// The store reader: answers history and by-id queries on its own read
// connection (WAL lets it read while the writer commits), detached so that a
// long scan never holds up a scheduler thread or the writer.
#pragma once

#include "actors/messages.hpp"

#include <memory>

namespace evmesh {

store_reader_actor spawn_store_reader(caf::actor_system& sys, std::unique_ptr<store> db);

} // namespace evmesh
