// The envelope rules every published event meets, whichever edge it came
// through (HTTP, WebSocket, an inbound bridge, the embedding API): topic, id,
// data size and header text, and the one compact spelling of JSON data.
// Pure functions, so every edge checks synchronously before it hands the
// event to the publisher.
#pragma once

#include <evmesh/event.hpp>

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

} // namespace evmesh
