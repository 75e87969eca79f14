// See ssrf_guard.hpp.
#include "base/ssrf_guard.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

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

// The IANA IPv4 Special-Purpose Address Registry (RFC 6890 and its
// updates), plus multicast 224/4 and reserved 240/4. Entries the registry
// marks globally reachable (192.31.196.0/24 AS112, 192.52.193.0/24 AMT,
// 192.175.48.0/24 AS112 direct delegation) are ordinary global unicast; the
// few globally reachable anycast hosts inside 192.0.0.0/24 (192.0.0.9 PCP,
// 192.0.0.10 TURN) are refused with the rest of that block — no webhook
// lives there.
address_class classify_v4(const address_v4& address) {
  auto a = address.to_uint();
  if (in_v4(a, v4(0, 0, 0, 0), 8))  // "this network", 0.0.0.0 "this host"
    return address_class::unspecified;
  if (in_v4(a, v4(127, 0, 0, 0), 8))
    return address_class::loopback;
  if (in_v4(a, v4(10, 0, 0, 0), 8) || in_v4(a, v4(172, 16, 0, 0), 12) ||
      in_v4(a, v4(192, 168, 0, 0), 16) || in_v4(a, v4(100, 64, 0, 0), 10))
    return address_class::private_network;  // RFC 1918, shared address space (CGN) RFC 6598
  if (in_v4(a, v4(169, 254, 0, 0), 16))
    return address_class::link_local;
  if (in_v4(a, v4(192, 0, 2, 0), 24) || in_v4(a, v4(198, 51, 100, 0), 24) || in_v4(a, v4(203, 0, 113, 0), 24))
    return address_class::documentation;  // TEST-NET-1/2/3, RFC 5737
  if (in_v4(a, v4(198, 18, 0, 0), 15))
    return address_class::benchmarking;  // RFC 2544
  if (in_v4(a, v4(192, 0, 0, 0), 24))
    return address_class::reserved;  // IETF protocol assignments (DS-Lite, NAT64 discovery, ...), RFC 6890
  if (in_v4(a, v4(192, 88, 99, 0), 24))
    return address_class::reserved;  // 6to4 relay anycast, deprecated (RFC 7526)
  if (in_v4(a, v4(224, 0, 0, 0), 4))
    return address_class::multicast;
  if (in_v4(a, v4(240, 0, 0, 0), 4))  // reserved, and 255.255.255.255 broadcast
    return address_class::reserved;
  return address_class::global;
}

// The IPv4 address an IPv6 address reaches, if it is one of the embedding
// forms: IPv4-mapped ::ffff:0:0/96, IPv4-translated ::ffff:0:0:0/96 (SIIT),
// IPv4-compatible ::/96 (deprecated), NAT64 64:ff9b::/96 (RFC 6052) and
// 6to4 2002::/16 (the IPv4 address in bits 16..47, RFC 3056).
std::optional<address_v4> embedded_v4(const address_v6& address) {
  auto b = address.to_bytes();
  auto tail = [&] { return address_v4({b[12], b[13], b[14], b[15]}); };
  auto zero = [&](int from, int to) {
    return std::all_of(b.begin() + from, b.begin() + to, [](unsigned char x) { return x == 0; });
  };
  if (zero(0, 10) && b[10] == 0xff && b[11] == 0xff)
    return tail();  // ::ffff:a.b.c.d (IPv4-mapped)
  if (zero(0, 8) && b[8] == 0xff && b[9] == 0xff && b[10] == 0 && b[11] == 0)
    return tail();  // ::ffff:0:a.b.c.d (IPv4-translated)
  if (zero(0, 12) && !(b[12] == 0 && b[13] == 0 && b[14] == 0 && b[15] <= 1))
    return tail();  // ::a.b.c.d (IPv4-compatible; :: and ::1 are themselves)
  static constexpr std::array<unsigned char, 12> nat64{0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
  if (std::equal(nat64.begin(), nat64.end(), b.begin()))
    return tail();  // 64:ff9b::a.b.c.d (NAT64 well-known prefix)
  if (b[0] == 0x20 && b[1] == 0x02)
    return address_v4({b[2], b[3], b[4], b[5]});  // 2002:aabb:ccdd::/48 (6to4)
  return std::nullopt;
}

bool in_v6(const std::array<unsigned char, 16>& b, std::initializer_list<unsigned char> prefix_bytes, int prefix) {
  std::array<unsigned char, 16> network{};
  std::copy(prefix_bytes.begin(), prefix_bytes.end(), network.begin());
  for (int bit = 0; bit < prefix; bit += 8) {
    int bits = std::min(8, prefix - bit);
    unsigned char mask = static_cast<unsigned char>(0xff << (8 - bits));
    if ((b[bit / 8] & mask) != (network[bit / 8] & mask))
      return false;
  }
  return true;
}

// The IANA IPv6 Special-Purpose Address Registry, multicast ff00::/8, the
// deprecated site-local fec0::/10, and everything outside global unicast
// 2000::/3 (unassigned by IANA: 100::/64 discard-only, 100:0:0:1::/64 dummy
// prefix, 64:ff9b:1::/48 local-use translation, 5f00::/16 SRv6 SIDs, ...).
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
  if (in_v6(b, {0x20, 0x01, 0x0d, 0xb8}, 32) || in_v6(b, {0x3f, 0xff}, 20))
    return address_class::documentation;  // 2001:db8::/32 (RFC 3849), 3fff::/20 (RFC 9637)
  if (in_v6(b, {0x20, 0x01, 0x00, 0x02, 0, 0}, 48))
    return address_class::benchmarking;  // 2001:2::/48 (RFC 5180)
  if (in_v6(b, {0x20, 0x01, 0x00, 0x00}, 23))
    return address_class::reserved;  // IETF protocol assignments, Teredo 2001::/32, ORCHID (RFC 2928)
  if (!in_v6(b, {0x20}, 3))
    return address_class::reserved;  // outside global unicast 2000::/3
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
    case address_class::documentation: return "documentation";
    case address_class::benchmarking: return "benchmarking";
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

std::string without_trailing_dot(std::string host) {
  if (!host.empty() && host.back() == '.')
    host.pop_back();
  return host;
}

std::optional<boost::asio::ip::address> literal_address(const std::string& written) {
  auto host = without_trailing_dot(written);  // "127.0.0.1." is 127.0.0.1 to many resolvers
  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address(host, ec);
  if (!ec)
    return address;
  in_addr v4{};
  if (!host.empty() && host.find_first_not_of("0123456789abcdefABCDEFxX.") == std::string::npos &&
      ::inet_aton(host.c_str(), &v4) != 0)
    return boost::asio::ip::address_v4(ntohl(v4.s_addr));
  return std::nullopt;
}

std::string refuse_target_name(const std::string& written, bool allow_private) {
  if (allow_private)
    return {};
  auto host = without_trailing_dot(written);
  std::transform(host.begin(), host.end(), host.begin(), [](unsigned char c) { return std::tolower(c); });
  auto is_or_under = [&](std::string_view zone) {
    return host == zone || (host.size() > zone.size() && host.ends_with(zone) &&
                            host[host.size() - zone.size() - 1] == '.');
  };
  // RFC 6761 localhost, RFC 6762 .local (mDNS), RFC 8375 home.arpa, the
  // ICANN private-use .internal, and the conventional localhost.localdomain.
  for (std::string_view zone : {"localhost", "local", "internal", "home.arpa", "localdomain"})
    if (is_or_under(zone))
      return "target host " + written + " is a special-use name (" + std::string(zone) +
             ") for local networks (refused unless the node runs with --allow-private-targets)";
  return {};
}

} // namespace evmesh
