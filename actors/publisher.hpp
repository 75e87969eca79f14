// The publisher: every event enters the mesh here. It stamps id and time,
// gathers concurrent publishes into one batch while the previous batch is
// being committed (group commit without a timer: a lone event goes at once),
// acks each caller once its events are durable, and hands the new events to
// the router in log order.
#pragma once

#include "actors/messages.hpp"
#include "node/metrics.hpp"

#include <string>

namespace evmesh {

// Largest data an event may carry: events cross the cluster in frames of at
// most 16 MiB (codec::max_frame_bytes), so one event must fit in one.
constexpr std::size_t max_event_data_bytes = 8u << 20;

// Checks a draft event's topic, optional id, data size and headers (UTF-8);
// "" when valid, else what is wrong. The edges call this before sending, so a caller learns about bad
// input synchronously.
std::string check_envelope(const event& draft);

// Parses JSON text and rewrites it compactly (one line, as every reader gets
// it back); "" when valid, else what is wrong.
std::string normalize_json_data(std::string& data);

publisher_actor spawn_publisher(caf::actor_system& sys, store_writer_actor writer,
                                router_actor router, std::size_t max_batch_events,
                                metrics& probe);

} // namespace evmesh
