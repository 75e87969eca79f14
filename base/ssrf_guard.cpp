// See ssrf_guard.hpp.
#include "base/ssrf_guard.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>

namespace evmesh {
namespace {

using boost::asio::ip::address_v4;
using boost::asio::ip::address_v6;

bool in_v4(uint32_t a, uint32_t network, int prefix) {
  uint32_t mask = prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix);
  return (a & mask) == (network & mask);
}

constexpr uint32_t v4(uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
  return (a << 24) | (b << 16) | (c << 8) | d;
}

address_class classify_v4(const address_v4& address) {
  auto a = address.to_uint();
  if (in_v4(a, v4(0, 0, 0, 0), 8))
    return address_class::unspecified;
  if (in_v4(a, v4(127, 0, 0, 0), 8))
    return address_class::loopback;
  if (in_v4(a, v4(10, 0, 0, 0), 8) || in_v4(a, v4(172, 16, 0, 0), 12) ||
      in_v4(a, v4(192, 168, 0, 0), 16) || in_v4(a, v4(100, 64, 0, 0), 10))
    return address_class::private_network;
  if (in_v4(a, v4(169, 254, 0, 0), 16))
    return address_class::link_local;
  if (in_v4(a, v4(224, 0, 0, 0), 4))
    return address_class::multicast;
  if (in_v4(a, v4(240, 0, 0, 0), 4))  // reserved, and 255.255.255.255 broadcast
    return address_class::reserved;
  return address_class::global;
}

// The IPv4 address an IPv6 address reaches, if it is one of the embedding forms.
std::optional<address_v4> embedded_v4(const address_v6& address) {
  auto b = address.to_bytes();
  auto tail = [&] { return address_v4({b[12], b[13], b[14], b[15]}); };
  bool zero_80 = std::all_of(b.begin(), b.begin() + 10, [](unsigned char x) { return x == 0; });
  if (zero_80 && b[10] == 0xff && b[11] == 0xff)
    return tail();  // ::ffff:a.b.c.d (IPv4-mapped)
  if (zero_80 && b[10] == 0 && b[11] == 0 && !(b[12] == 0 && b[13] == 0 && b[14] == 0 && b[15] <= 1))
    return tail();  // ::a.b.c.d (IPv4-compatible; :: and ::1 are themselves)
  static constexpr std::array<unsigned char, 12> nat64{0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
  if (std::equal(nat64.begin(), nat64.end(), b.begin()))
    return tail();  // 64:ff9b::a.b.c.d (NAT64 well-known prefix)
  return std::nullopt;
}

address_class classify_v6(const address_v6& address) {
  if (auto inner = embedded_v4(address))
    return classify_v4(*inner);
  if (address.is_unspecified())
    return address_class::unspecified;
  if (address.is_loopback())
    return address_class::loopback;
  auto b = address.to_bytes();
  if ((b[0] & 0xfe) == 0xfc || (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0))
    return address_class::private_network;  // fc00::/7 unique local, fec0::/10 site-local
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
    return address_class::link_local;  // fe80::/10
  if (b[0] == 0xff)
    return address_class::multicast;
  return address_class::global;
}

} // namespace

address_class classify_address(const boost::asio::ip::address& address) {
  return address.is_v4() ? classify_v4(address.to_v4()) : classify_v6(address.to_v6());
}

const char* to_string(address_class c) {
  switch (c) {
    case address_class::global: return "global";
    case address_class::loopback: return "loopback";
    case address_class::private_network: return "private";
    case address_class::link_local: return "link-local";
    case address_class::multicast: return "multicast";
    case address_class::unspecified: return "unspecified";
    case address_class::reserved: return "reserved";
  }
  return "unknown";
}

std::string refuse_target_address(const boost::asio::ip::address& address, bool allow_private) {
  auto c = classify_address(address);
  if (c == address_class::global || allow_private)
    return {};
  return "target address " + address.to_string() + " is " + to_string(c) +
         " (refused unless the node runs with --allow-private-targets)";
}

std::optional<boost::asio::ip::address> literal_address(const std::string& host) {
  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address(host, ec);
  if (!ec)
    return address;
  in_addr v4{};
  if (host.find_first_not_of("0123456789abcdefABCDEFxX.") == std::string::npos && ::inet_aton(host.c_str(), &v4) != 0)
    return boost::asio::ip::address_v4(ntohl(v4.s_addr));
  return std::nullopt;
}

} // namespace evmesh
