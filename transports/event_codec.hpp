// msgpack encoding of events, the wire format between nodes (CONTRACT: "On the
// wire between nodes it is msgpack"). An event is a msgpack map:
//   "id" str, "topic" str, "time" int (µs since epoch), "seq" uint,
//   "data" str (JSON text) or bin (raw bytes), "headers" map str→str (optional).
// Decoding never throws and never trusts its input: truncated, oversized,
// wrongly typed or invalid (bad topic/id) frames are refused with a reason.
#pragma once

#include <evmesh/event.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace evmesh::codec {

// Largest frame decode() accepts; larger input is refused before parsing.
constexpr std::size_t max_frame_bytes = 16 * 1024 * 1024;

// Appends the encoding of `e` to `out`.
void encode(const event& e, std::string& out);
std::string encode(const event& e);
// A batch is a msgpack array of event maps.
std::string encode_batch(const std::vector<event>& events);
std::string encode_batch(const std::vector<event_ptr>& events);

// true and `out` filled, or false and `error` says what is wrong
// (e.g. "field \"seq\" must be an unsigned integer", "truncated frame").
bool decode(std::string_view frame, event& out, std::string& error);
bool decode_batch(std::string_view frame, std::vector<event>& out, std::string& error);

} // namespace evmesh::codec
