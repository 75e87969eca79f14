// The store writer: the one actor that writes the durable store. It runs
// detached (its own thread) because SQLite commits block on fsync; each
// append message is one transaction, so the publisher's batches become group
// commits. It also enforces retention on a timer (never past what a webhook
// endpoint still needs), and owns the webhook delivery state
// (store/delivery_store.hpp, a second connection to the same file used only
// from this actor's thread, so every write of the node goes through here).
#pragma once

#include "actors/messages.hpp"
#include "actors/probes.hpp"

#include <chrono>
#include <memory>

namespace evmesh {

store_writer_actor spawn_store_writer(caf::actor_system& sys, std::unique_ptr<store> db,
                                      std::unique_ptr<delivery_store> deliveries,
                                      retention_policy retention,
                                      std::chrono::milliseconds retention_interval,
                                      store_probe& probe);

} // namespace evmesh
