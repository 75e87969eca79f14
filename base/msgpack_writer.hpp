// Writing msgpack into a std::string: the sink msgpack-c's packer needs and
// the string packing both wire formats use (event_codec, cluster frames).
#pragma once

#include <msgpack.hpp>

#include <string>
#include <string_view>

namespace evmesh::codec {

// msgpack's packer writes into anything with write(const char*, size_t).
struct string_sink {
  std::string& out;
  void write(const char* bytes, std::size_t size) { out.append(bytes, size); }
};

using packer = msgpack::packer<string_sink>;

inline void pack_str(packer& pk, std::string_view text) {
  const auto size = msgpack::checked_get_container_size(text.size());
  pk.pack_str(size);
  pk.pack_str_body(text.data(), size);
}

} // namespace evmesh::codec
