// See host_port.hpp.
#include "base/host_port.hpp"

namespace evmesh {

host_port_errc parse_host_port(std::string_view text, host_port& out) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon + 1 == text.size())
    return host_port_errc::not_host_port;
  auto digits = text.substr(colon + 1);
  if (digits.size() > 5 || digits.find_first_not_of("0123456789") != std::string_view::npos)
    return host_port_errc::bad_port;
  uint32_t port = 0;
  for (char c : digits)
    port = port * 10 + static_cast<uint32_t>(c - '0');
  if (port > 65535)
    return host_port_errc::bad_port;
  auto host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  out = {std::string(host), static_cast<uint16_t>(port)};
  return host_port_errc::ok;
}

std::string address_host(const std::string& host) {
  return host.find(':') == std::string::npos ? host : "[" + host + "]";
}

} // namespace evmesh
