// msgpack encoding and decoding of events between nodes (format in
// event_codec.hpp). Frames come from other machines, so decoding trusts
// nothing: size is checked before parsing, msgpack runs under limits derived
// from the frame size, every exception stays inside, and each field's type
// and content (topic and id rules) is checked before an event is produced.
#include "transports/event_codec.hpp"
#include "base/msgpack_writer.hpp"

#include <evmesh/topic.hpp>

#include <msgpack.hpp>

#include <limits>
#include <new>
#include <optional>
#include <utility>

namespace evmesh::codec {

namespace {

const event& deref(const event& e) { return e; }
const event& deref(const event_ptr& e) { return *e; }

void pack_event(packer& pk, const event& e) {
  pk.pack_map(e.headers.empty() ? 5 : 6);
  pack_str(pk, "id");
  pack_str(pk, e.id);
  pack_str(pk, "topic");
  pack_str(pk, e.topic);
  pack_str(pk, "time");
  pk.pack_int64(e.time_us);
  pack_str(pk, "seq");
  pk.pack_uint64(e.seq);
  pack_str(pk, "data");
  if (e.binary) {
    const auto size = msgpack::checked_get_container_size(e.data.size());
    pk.pack_bin(size);
    pk.pack_bin_body(e.data.data(), size);
  } else {
    pack_str(pk, e.data);
  }
  if (!e.headers.empty()) {
    pack_str(pk, "headers");
    pk.pack_map(msgpack::checked_get_container_size(e.headers.size()));
    for (const auto& [name, value] : e.headers) {
      pack_str(pk, name);
      pack_str(pk, value);
    }
  }
}

// Nesting msgpack may go to: batch → event → headers, plus one level for
// fields added later.
constexpr std::size_t max_depth = 4;

std::string_view as_view(const msgpack::object& o) {
  return {o.via.str.ptr, o.via.str.size};
}

std::string field_error(std::string_view name, std::string_view problem) {
  return "field \"" + std::string{name} + "\" " + std::string{problem};
}

enum field_bit : unsigned { f_id = 1, f_topic = 2, f_time = 4, f_seq = 8, f_data = 16, f_headers = 32 };

unsigned field_of(std::string_view name) {
  if (name == "id") return f_id;
  if (name == "topic") return f_topic;
  if (name == "time") return f_time;
  if (name == "seq") return f_seq;
  if (name == "data") return f_data;
  if (name == "headers") return f_headers;
  return 0;
}

// Stores one known field's value into `e`; false and `error` set when its
// type or content is wrong.
bool read_field(unsigned field, const msgpack::object& value, event& e, std::string& error) {
  using msgpack::type::object_type;
  switch (field) {
    case f_id:
    case f_topic: {
      const char* name = field == f_id ? "id" : "topic";
      if (value.type != object_type::STR) {
        error = field_error(name, "must be a string");
        return false;
      }
      auto& target = field == f_id ? e.id : e.topic;
      target = as_view(value);
      auto problem = field == f_id ? check_event_id(target) : check_topic(target);
      if (!problem.empty()) {
        error = field_error(name, "is invalid: " + problem);
        return false;
      }
      return true;
    }
    case f_time:
      if (value.type == object_type::NEGATIVE_INTEGER) {
        e.time_us = value.via.i64;
        return true;
      }
      if (value.type == object_type::POSITIVE_INTEGER
          && value.via.u64 <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        e.time_us = static_cast<int64_t>(value.via.u64);
        return true;
      }
      error = field_error("time", "must be a signed 64-bit integer (microseconds since the epoch)");
      return false;
    case f_seq:
      if (value.type != object_type::POSITIVE_INTEGER) {
        error = field_error("seq", "must be an unsigned integer");
        return false;
      }
      e.seq = value.via.u64;
      return true;
    case f_data:
      if (value.type == object_type::STR) {
        e.binary = false;
        e.data.assign(value.via.str.ptr, value.via.str.size);
        return true;
      }
      if (value.type == object_type::BIN) {
        e.binary = true;
        e.data.assign(value.via.bin.ptr, value.via.bin.size);
        return true;
      }
      error = field_error("data", "must be a string (JSON text) or binary");
      return false;
    case f_headers:
      if (value.type != object_type::MAP) {
        error = field_error("headers", "must be a map of strings to strings");
        return false;
      }
      for (uint32_t i = 0; i < value.via.map.size; ++i) {
        const auto& header = value.via.map.ptr[i];
        if (header.key.type != object_type::STR || header.val.type != object_type::STR) {
          error = field_error("headers", "must be a map of strings to strings (entry "
                                           + std::to_string(i + 1) + " is not)");
          return false;
        }
        if (!e.headers.emplace(as_view(header.key), as_view(header.val)).second) {
          error = field_error("headers", "names \"" + std::string{as_view(header.key)} + "\" twice");
          return false;
        }
      }
      return true;
  }
  return true;
}

// Fills `out` from one event map; false and `error` set when anything is off.
bool read_event(const msgpack::object& o, event& out, std::string& error) {
  if (o.type != msgpack::type::MAP) {
    error = "an event must be a msgpack map";
    return false;
  }
  unsigned seen = 0;
  event e;
  for (uint32_t i = 0; i < o.via.map.size; ++i) {
    const auto& [key, value] = o.via.map.ptr[i];
    if (key.type != msgpack::type::STR) {
      error = "key " + std::to_string(i + 1) + " of the event map is not a string";
      return false;
    }
    const unsigned field = field_of(as_view(key));
    if (field == 0)
      continue; // unknown keys are for newer nodes; ignore them
    if (seen & field) {
      error = field_error(as_view(key), "appears twice");
      return false;
    }
    seen |= field;
    if (!read_field(field, value, e, error))
      return false;
  }
  constexpr std::pair<unsigned, const char*> required[] = {
    {f_id, "id"}, {f_topic, "topic"}, {f_time, "time"}, {f_seq, "seq"}, {f_data, "data"}};
  for (const auto& [field, name] : required) {
    if (!(seen & field)) {
      error = "missing field \"" + std::string{name} + "\"";
      return false;
    }
  }
  out = std::move(e);
  return true;
}

// Strings and binaries point into the frame instead of being copied into the
// zone; the frame outlives the parsed object within decode.
bool reference_frame(msgpack::type::object_type, std::size_t, void*) {
  return true;
}

// Parses one msgpack value spanning all of `frame`; nullopt and `error` set
// when the frame is oversized, malformed, truncated or has trailing bytes.
std::optional<msgpack::object_handle> parse(std::string_view frame, std::string& error) {
  if (frame.empty()) {
    error = "empty frame";
    return std::nullopt;
  }
  if (frame.size() > max_frame_bytes) {
    error = "frame is " + std::to_string(frame.size()) + " bytes, the limit is "
            + std::to_string(max_frame_bytes);
    return std::nullopt;
  }
  // msgpack reserves room for an array's or map's declared count before
  // reading its elements. No valid frame declares more elements than it has
  // bytes (a map entry takes two), so these limits refuse lying headers and
  // keep what is reserved proportional to the frame.
  const std::size_t n = frame.size();
  const msgpack::unpack_limit limit{n, n / 2, n, n, n, max_depth};
  std::size_t offset = 0;
  try {
    auto handle = msgpack::unpack(frame.data(), frame.size(), offset, reference_frame, nullptr, limit);
    if (offset != frame.size()) {
      error = std::to_string(frame.size() - offset) + " trailing bytes after the msgpack value";
      return std::nullopt;
    }
    return handle;
  } catch (const msgpack::insufficient_bytes&) {
    error = "truncated frame";
  } catch (const msgpack::depth_size_overflow&) {
    error = "frame nests deeper than " + std::to_string(max_depth) + " levels";
  } catch (const msgpack::size_overflow&) {
    error = "truncated frame (a declared length exceeds the frame)";
  } catch (const msgpack::parse_error&) {
    error = "frame is not valid msgpack";
  } catch (const std::bad_alloc&) {
    error = "frame needs more memory than is available";
  } catch (const std::exception& e) {
    error = std::string{"frame cannot be decoded: "} + e.what();
  } catch (...) {
    error = "frame cannot be decoded";
  }
  return std::nullopt;
}

} // namespace

void encode(const event& e, std::string& out) {
  string_sink sink{out};
  packer pk{sink};
  pack_event(pk, e);
}

std::string encode(const event& e) {
  std::string out;
  encode(e, out);
  return out;
}

namespace {

template <class Events>
std::string encode_events(const Events& events) {
  std::string out;
  string_sink sink{out};
  packer pk{sink};
  pk.pack_array(msgpack::checked_get_container_size(events.size()));
  for (const auto& e : events)
    pack_event(pk, deref(e));
  return out;
}

} // namespace

std::string encode_batch(const std::vector<event>& events) { return encode_events(events); }
std::string encode_batch(const std::vector<event_ptr>& events) { return encode_events(events); }

bool decode(std::string_view frame, event& out, std::string& error) {
  try {
    auto handle = parse(frame, error);
    return handle && read_event(handle->get(), out, error);
  } catch (const std::exception& e) { // e.g. bad_alloc while copying fields
    error = std::string{"frame cannot be decoded: "} + e.what();
    return false;
  }
}

bool decode_batch(std::string_view frame, std::vector<event>& out, std::string& error) {
  try {
    auto handle = parse(frame, error);
    if (!handle)
      return false;
    const auto& root = handle->get();
    if (root.type != msgpack::type::ARRAY) {
      error = "a batch must be a msgpack array of events";
      return false;
    }
    std::vector<event> events(root.via.array.size);
    for (uint32_t i = 0; i < root.via.array.size; ++i) {
      if (!read_event(root.via.array.ptr[i], events[i], error)) {
        error = "event " + std::to_string(i + 1) + " of the batch: " + error;
        return false;
      }
    }
    out = std::move(events);
    return true;
  } catch (const std::exception& e) {
    error = std::string{"frame cannot be decoded: "} + e.what();
    return false;
  }
}

} // namespace evmesh::codec
