// The SSRF guard for webhook targets: which addresses a webhook may connect
// to. Refused unless the node runs with --allow-private-targets: loopback,
// private (RFC 1918, carrier-grade NAT 100.64/10, IPv6 unique-local fc00::/7
// and the old site-local fec0::/10), link-local (169.254/16 — cloud metadata
// at 169.254.169.254 — and fe80::/10), multicast, unspecified ("this network"
// 0/8, ::), broadcast and reserved 240/4, and every one of those wrapped in an
// IPv6 form that reaches the IPv4 address (IPv4-mapped ::ffff:a.b.c.d,
// IPv4-compatible ::a.b.c.d, IPv4-translated ::ffff:0:a.b.c.d, NAT64
// 64:ff9b::/96, 6to4 2002::/16), and the rest of the IANA IPv4 and IPv6
// special-purpose registries (documentation, benchmarking, IETF protocol
// assignments, Teredo, IPv6 outside 2000::/3). Special-use names
// (localhost, .local, .internal, home.arpa) are refused by name, with or
// without a trailing dot. The delivery client resolves a host once, checks
// every address, and connects only to checked ones.
#pragma once

#include <boost/asio/ip/address.hpp>

#include <optional>
#include <string>

namespace evmesh {

enum class address_class {
  global,
  loopback,
  private_network,
  link_local,
  multicast,
  unspecified,
  reserved,        // IETF protocol assignments, 240/4, broadcast, IPv6 outside 2000::/3, ...
  documentation,   // 192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32, 3fff::/20
  benchmarking,    // 198.18/15, 2001:2::/48
};

// What kind of address this is; an IPv6 form of an IPv4 address is
// classified by the IPv4 address it reaches.
address_class classify_address(const boost::asio::ip::address& address);

const char* to_string(address_class c);

// The address a URL's host names literally, in every form a resolver takes
// as an address and not as a name: IPv6, dotted quads, and the short,
// decimal, octal and hex IPv4 forms inet_aton reads (`127.1`, `2130706433`,
// `0x7f000001`, `017700000001`, `0177.0.0.1` are all 127.0.0.1), with or
// without one trailing dot. Nothing when the host is a name.
std::optional<boost::asio::ip::address> literal_address(const std::string& host);

// Empty when a webhook may name `host` (trailing dot or not, any case):
// refuses the special-use names localhost and *.localhost, *.local,
// *.internal, *.home.arpa and *.localdomain unless `allow_private`.
std::string refuse_target_name(const std::string& host, bool allow_private);

// Empty when a webhook may connect to `address`, else why not.
std::string refuse_target_address(const boost::asio::ip::address& address, bool allow_private);

} // namespace evmesh
