// The envelope rules every published event meets, whichever edge it came
// through (HTTP, WebSocket, an inbound bridge, the embedding API): topic, id,
// data size and header text, and the one compact spelling of JSON data.
// Pure functions, so every edge checks synchronously before it hands the
// event to the publisher.
#pragma once

#include <evmesh/event.hpp>

#include <cstdint>
#include <string>

namespace evmesh {

// Which envelope rule an event breaks. Callers branch on this (the public
// API reports it as its own evmesh::errc), never on the message text.
enum class envelope_errc : std::uint8_t {
  ok,
  invalid_topic,   // not a valid topic (check_topic)
  data_too_large,  // more than max_event_data_bytes
  reserved_topic,  // under registry_topic_prefix, which only nodes publish
  invalid_id,      // not a valid event id (check_event_id)
  invalid_header,  // a header name or value that is not UTF-8
  invalid_json,    // data that is not valid JSON
};

// The outcome of an envelope check: the rule broken and a sentence for a
// person. Cheap when ok (no message is built).
struct envelope_result {
  envelope_errc code = envelope_errc::ok;
  std::string message;
  bool ok() const noexcept { return code == envelope_errc::ok; }
};

// Largest data an event may carry: events cross the cluster in frames of at
// most 16 MiB (codec::max_frame_bytes), so one event must fit in one.
constexpr std::size_t max_event_data_bytes = 8u << 20;

// Checks a draft event's topic, data size, reserved prefix, optional id and
// headers (UTF-8), in that order, and reports the first rule broken. The
// edges call this before sending, so a caller learns about bad input
// synchronously.
envelope_result check_envelope(const event& draft);

// Parses JSON text and rewrites it compactly (one line, as every reader gets
// it back); invalid_json (data untouched) when it is not JSON.
envelope_result normalize_json_data(std::string& data);

} // namespace evmesh
