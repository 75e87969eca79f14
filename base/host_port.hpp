// HOST:PORT, the form of every address evmesh listens on or dials (--http,
// --cluster, --peers, the cluster frames): one parser for all of them. An
// IPv6 host is written in brackets ("[::1]:7000") and kept without them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace evmesh {

struct host_port {
  std::string host;  // without brackets; may be empty (any address)
  uint16_t port = 0;
};

enum class host_port_errc {
  ok,
  not_host_port,  // no ':' or nothing after it
  bad_port        // not 1 to 5 digits up to 65535
};

// Parses `text` into `out` (left as is unless ok).
host_port_errc parse_host_port(std::string_view text, host_port& out);

// A host as an address or URL writes it: brackets around an IPv6 host.
std::string address_host(const std::string& host);

} // namespace evmesh
