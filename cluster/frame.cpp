// See frame.hpp. Headers are small msgpack arrays; decoding checks the kind,
// the field count and every field's type and content (names, addresses,
// patterns) so the actors behind it only ever see well-formed frames.
#include "cluster/detail/frame.hpp"

#include "transports/event_codec.hpp"
#include "base/host_port.hpp"
#include "base/msgpack_writer.hpp"

#include <evmesh/topic.hpp>

#include <msgpack.hpp>

namespace evmesh::cluster {
namespace {

enum class kind : uint8_t { hello = 1, ping, events, welcome, ack, nack, interest, rehello, bye };

using codec::pack_str;
using codec::packer;
using codec::string_sink;

void pack_strings(packer& pk, const std::vector<std::string>& list) {
  pk.pack_array(msgpack::checked_get_container_size(list.size()));
  for (const auto& s : list)
    pack_str(pk, s);
}

// Writes one frame's header fields after its kind.
struct header_writer {
  packer& pk;
  void operator()(const hello_frame& f) {
    pk.pack_array(5).pack_uint8(uint8_t(kind::hello));
    pack_str(pk, f.name);
    pack_str(pk, f.addr);
    pk.pack_uint64(f.incarnation).pack_uint64(f.epoch);
  }
  void operator()(const ping_frame& f) {
    pk.pack_array(5).pack_uint8(uint8_t(kind::ping));
    pack_str(pk, f.name);
    pack_str(pk, f.addr);
    pk.pack_uint64(f.incarnation);
    pack_strings(pk, f.members);
  }
  void operator()(const events_frame& f) {
    pk.pack_array(3).pack_uint8(uint8_t(kind::events)).pack_uint64(f.epoch).pack_uint64(f.frame_no);
  }
  void operator()(const welcome_frame& f) {
    pk.pack_array(7).pack_uint8(uint8_t(kind::welcome));
    pack_str(pk, f.name);
    pack_str(pk, f.addr);
    pk.pack_uint64(f.incarnation).pack_uint64(f.cursor).pack_uint64(f.interest_version);
    pack_strings(pk, f.patterns);
  }
  void operator()(const ack_frame& f) {
    pk.pack_array(4).pack_uint8(uint8_t(kind::ack)).pack_uint64(f.epoch).pack_uint64(f.frame_no)
      .pack_uint64(f.cursor);
  }
  void operator()(const nack_frame& f) {
    pk.pack_array(3).pack_uint8(uint8_t(kind::nack)).pack_uint64(f.epoch).pack_uint64(f.cursor);
  }
  void operator()(const interest_frame& f) {
    pk.pack_array(3).pack_uint8(uint8_t(kind::interest)).pack_uint64(f.version);
    pack_strings(pk, f.patterns);
  }
  void operator()(const rehello_frame&) { pk.pack_array(1).pack_uint8(uint8_t(kind::rehello)); }
  void operator()(const bye_frame& f) {
    pk.pack_array(3).pack_uint8(uint8_t(kind::bye));
    pack_str(pk, f.addr);
    pk.pack_uint64(f.incarnation);
  }
};

// Reads the fields of one header array in order; the first problem sticks.
class field_reader {
public:
  explicit field_reader(const msgpack::object_array& fields) : fields_(fields) {}

  const std::string& error() const { return error_; }
  bool ok() const { return error_.empty(); }

  uint64_t number(const char* name) {
    auto* o = next(name);
    if (!o)
      return 0;
    if (o->type != msgpack::type::POSITIVE_INTEGER) {
      fail(name, "must be an unsigned integer");
      return 0;
    }
    return o->via.u64;
  }

  // A node name: 1..255 bytes of printable ASCII.
  std::string name(const char* field) {
    auto text = string(field);
    if (ok() && (text.empty() || text.size() > 255 || !printable(text)))
      fail(field, "must be 1 to 255 printable ASCII characters");
    return text;
  }

  // HOST:PORT with a port number.
  std::string address(const char* field) {
    auto text = name(field);
    if (!ok())
      return text;
    host_port parsed;
    if (parse_host_port(text, parsed) != host_port_errc::ok || parsed.host.empty())
      fail(field, "must be HOST:PORT");
    return text;
  }

  std::vector<std::string> addresses(const char* field) {
    return list(field, max_members, &field_reader::address);
  }

  std::vector<std::string> patterns(const char* field) {
    return list(field, max_patterns, &field_reader::pattern);
  }

  void expect_end() {
    if (ok() && at_ != fields_.size)
      error_ = "header has " + std::to_string(fields_.size - at_) + " fields too many";
  }

private:
  const msgpack::object* next(const char* name) {
    if (!ok())
      return nullptr;
    if (at_ >= fields_.size) {
      error_ = std::string("header lacks field \"") + name + "\"";
      return nullptr;
    }
    return &fields_.ptr[at_++];
  }

  std::string string(const char* name) {
    auto* o = next(name);
    if (!o)
      return {};
    if (o->type != msgpack::type::STR) {
      fail(name, "must be a string");
      return {};
    }
    return {o->via.str.ptr, o->via.str.size};
  }

  std::string pattern(const char* field) {
    auto text = string(field);
    if (ok())
      if (auto why = check_pattern(text); !why.empty())
        fail(field, "has an invalid pattern: " + why);
    return text;
  }

  // An array whose entries `read` reads, at most `limit` of them.
  std::vector<std::string> list(const char* field, std::size_t limit,
                                std::string (field_reader::*read)(const char*)) {
    auto* o = next(field);
    if (!o)
      return {};
    if (o->type != msgpack::type::ARRAY) {
      fail(field, "must be an array");
      return {};
    }
    if (o->via.array.size > limit) {
      fail(field, "has more than " + std::to_string(limit) + " entries");
      return {};
    }
    field_reader entries{o->via.array};
    std::vector<std::string> out;
    out.reserve(o->via.array.size);
    while (entries.ok() && entries.at_ < o->via.array.size)
      out.push_back((entries.*read)(field));
    if (!entries.ok())
      error_ = entries.error_;
    return out;
  }

  static bool printable(std::string_view text) {
    for (unsigned char c : text)
      if (c < 0x21 || c > 0x7e)
        return false;
    return true;
  }

  void fail(const char* name, const char* problem) {
    if (ok())
      error_ = std::string("field \"") + name + "\" " + problem;
  }
  void fail(const char* name, const std::string& problem) { fail(name, problem.c_str()); }

  const msgpack::object_array& fields_;
  uint32_t at_ = 0;
  std::string error_;
};

} // namespace
} // namespace evmesh::cluster

namespace evmesh::cluster {

wire_frame encode(const frame& f) {
  wire_frame out;
  string_sink sink{out.header};
  packer pk{sink};
  std::visit(header_writer{pk}, f);
  if (auto* batch = std::get_if<events_frame>(&f))
    out.body = codec::encode_batch(batch->events);
  return out;
}

namespace {

// Headers nest at most: array → list → entry.
constexpr std::size_t max_header_depth = 3;

bool read_header(kind k, field_reader& in, std::string_view body, frame& out, std::string& error) {
  switch (k) {
    case kind::hello: {
      hello_frame f;
      f.name = in.name("name");
      f.addr = in.address("addr");
      f.incarnation = in.number("incarnation");
      f.epoch = in.number("epoch");
      out = std::move(f);
      break;
    }
    case kind::ping: {
      ping_frame f;
      f.name = in.name("name");
      f.addr = in.address("addr");
      f.incarnation = in.number("incarnation");
      f.members = in.addresses("members");
      out = std::move(f);
      break;
    }
    case kind::events: {
      events_frame f;
      f.epoch = in.number("epoch");
      f.frame_no = in.number("frame_no");
      in.expect_end();
      if (!in.ok())
        break;
      if (!codec::decode_batch(body, f.events, error)) {
        error = "events part: " + error;
        return false;
      }
      out = std::move(f);
      break;
    }
    case kind::welcome: {
      welcome_frame f;
      f.name = in.name("name");
      f.addr = in.address("addr");
      f.incarnation = in.number("incarnation");
      f.cursor = in.number("cursor");
      f.interest_version = in.number("interest_version");
      f.patterns = in.patterns("patterns");
      out = std::move(f);
      break;
    }
    case kind::ack: {
      ack_frame f;
      f.epoch = in.number("epoch");
      f.frame_no = in.number("frame_no");
      f.cursor = in.number("cursor");
      out = f;
      break;
    }
    case kind::nack: {
      nack_frame f;
      f.epoch = in.number("epoch");
      f.cursor = in.number("cursor");
      out = f;
      break;
    }
    case kind::interest: {
      interest_frame f;
      f.version = in.number("version");
      f.patterns = in.patterns("patterns");
      out = std::move(f);
      break;
    }
    case kind::rehello:
      out = rehello_frame{};
      break;
    case kind::bye: {
      bye_frame f;
      f.addr = in.address("addr");
      f.incarnation = in.number("incarnation");
      out = std::move(f);
      break;
    }
  }
  in.expect_end();
  if (!in.ok()) {
    error = in.error();
    return false;
  }
  if (k != kind::events && !body.empty()) {
    error = "only an events frame has a second part";
    return false;
  }
  return true;
}

} // namespace

bool decode(std::string_view header, std::string_view body, frame& out, std::string& error) {
  if (header.empty() || header.size() > codec::max_frame_bytes) {
    error = "header is " + std::to_string(header.size()) + " bytes";
    return false;
  }
  try {
    // Declared counts cannot exceed the bytes present (see event_codec.cpp).
    const std::size_t n = header.size();
    const msgpack::unpack_limit limit{n, 0, n, n, 0, max_header_depth};
    std::size_t offset = 0;
    auto handle = msgpack::unpack(header.data(), header.size(), offset, nullptr, nullptr, limit);
    if (offset != header.size()) {
      error = "trailing bytes after the header";
      return false;
    }
    const auto& root = handle.get();
    if (root.type != msgpack::type::ARRAY || root.via.array.size == 0
        || root.via.array.ptr[0].type != msgpack::type::POSITIVE_INTEGER) {
      error = "header must be an array that starts with the frame kind";
      return false;
    }
    const auto code = root.via.array.ptr[0].via.u64;
    if (code < uint64_t(kind::hello) || code > uint64_t(kind::bye)) {
      error = "unknown frame kind " + std::to_string(code);
      return false;
    }
    msgpack::object_array fields{root.via.array.size - 1, root.via.array.ptr + 1};
    field_reader in{fields};
    return read_header(static_cast<kind>(code), in, body, out, error);
  } catch (const msgpack::insufficient_bytes&) {
    error = "truncated header";
  } catch (const msgpack::unpack_error& e) {
    error = std::string("header is not valid msgpack: ") + e.what();
  } catch (const std::exception& e) {
    error = std::string("header cannot be decoded: ") + e.what();
  }
  return false;
}

} // namespace evmesh::cluster
