// The SSRF guard: every address class, in IPv4 and in each IPv6 form that
// reaches an IPv4 address, and the --allow-private-targets switch.
#include "base/ssrf_guard.hpp"
#include "model/api_fields.hpp"

#include <gtest/gtest.h>

namespace evmesh {
namespace {

address_class of(const char* text) {
  return classify_address(boost::asio::ip::make_address(text));
}

TEST(SsrfGuard, GlobalAddressesAreAllowed) {
  for (auto text : {"8.8.8.8", "1.1.1.1", "93.184.216.34", "172.32.0.1", "100.128.0.1", "169.253.255.255",
                    "192.0.1.255", "192.0.3.0", "198.17.255.255", "198.20.0.0", "198.51.99.255", "198.51.101.0",
                    "203.0.112.255", "203.0.114.0", "192.31.196.1", "192.52.193.1", "192.175.48.1", "192.88.98.1",
                    "2606:4700:4700::1111", "2001:db9::1", "2001:200::1", "2620:4f:8000::1", "3000::1",
                    "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1", "::ffff:0:808:808"}) {
    EXPECT_EQ(of(text), address_class::global) << text;
    EXPECT_EQ(refuse_target_address(boost::asio::ip::make_address(text), false), "") << text;
  }
}

TEST(SsrfGuard, Loopback) {
  for (auto text : {"127.0.0.1", "127.255.255.254", "::1", "::ffff:127.0.0.1", "::127.0.0.1"})
    EXPECT_EQ(of(text), address_class::loopback) << text;
}

TEST(SsrfGuard, PrivateNetworks) {
  for (auto text : {"10.0.0.1", "10.255.255.255", "172.16.0.1", "172.31.255.255", "192.168.1.1",
                    "100.64.0.1", "100.127.255.255", "fc00::1", "fd12:3456::1", "fec0::1",
                    "::ffff:10.1.2.3", "::ffff:192.168.0.1", "64:ff9b::a00:1"})
    EXPECT_EQ(of(text), address_class::private_network) << text;
}

TEST(SsrfGuard, LinkLocalIncludingCloudMetadata) {
  for (auto text : {"169.254.169.254", "169.254.0.1", "fe80::1", "febf::1", "::ffff:169.254.169.254",
                    "64:ff9b::a9fe:a9fe"})
    EXPECT_EQ(of(text), address_class::link_local) << text;
}

TEST(SsrfGuard, Multicast) {
  for (auto text : {"224.0.0.1", "239.255.255.250", "ff02::1", "ff05::2", "::ffff:224.0.0.251"})
    EXPECT_EQ(of(text), address_class::multicast) << text;
}

TEST(SsrfGuard, Unspecified) {
  for (auto text : {"0.0.0.0", "0.1.2.3", "::", "::ffff:0.0.0.0"})
    EXPECT_EQ(of(text), address_class::unspecified) << text;
}

TEST(SsrfGuard, ReservedAndBroadcast) {
  for (auto text : {"240.0.0.1", "255.255.255.255", "::ffff:255.255.255.255"})
    EXPECT_EQ(of(text), address_class::reserved) << text;
}

TEST(SsrfGuard, RefusalSaysWhyAndTheSwitchAllows) {
  auto metadata = boost::asio::ip::make_address("169.254.169.254");
  auto why = refuse_target_address(metadata, false);
  EXPECT_NE(why.find("169.254.169.254"), std::string::npos);
  EXPECT_NE(why.find("link-local"), std::string::npos);
  EXPECT_NE(why.find("--allow-private-targets"), std::string::npos);
  EXPECT_EQ(refuse_target_address(metadata, true), "");
  EXPECT_EQ(refuse_target_address(boost::asio::ip::make_address("::1"), true), "");
}

// The rest of the IANA special-purpose registries, one row per entry
// (first and last address where the block is wide), and the IPv6 forms
// that embed an IPv4 address — classified by the address they reach.
TEST(SsrfGuard, SpecialPurposeRegistriesAreRefused) {
  struct row {
    const char* text;
    address_class expected;
  };
  const row rows[] = {
    // IPv4
    {"192.0.0.0", address_class::reserved},        // 192.0.0.0/24 IETF protocol assignments
    {"192.0.0.8", address_class::reserved},        // IPv4 dummy address
    {"192.0.0.170", address_class::reserved},      // NAT64/DNS64 discovery
    {"192.0.0.255", address_class::reserved},
    {"192.0.2.0", address_class::documentation},   // TEST-NET-1
    {"192.0.2.255", address_class::documentation},
    {"198.51.100.7", address_class::documentation},  // TEST-NET-2
    {"203.0.113.255", address_class::documentation}, // TEST-NET-3
    {"198.18.0.0", address_class::benchmarking},   // 198.18.0.0/15
    {"198.19.255.255", address_class::benchmarking},
    {"192.88.99.1", address_class::reserved},      // 6to4 relay anycast (deprecated)
    {"100.64.0.0", address_class::private_network},
    {"0.0.0.0", address_class::unspecified},
    {"255.255.255.255", address_class::reserved},
    // IPv6
    {"2001:db8::", address_class::documentation},
    {"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", address_class::documentation},
    {"3fff::1", address_class::documentation},     // 3fff::/20
    {"3fff:fff::1", address_class::documentation},
    {"2001:2::1", address_class::benchmarking},    // 2001:2::/48
    {"2001::1", address_class::reserved},          // Teredo 2001::/32
    {"2001:1::1", address_class::reserved},        // IETF protocol assignments 2001::/23
    {"2001:10::1", address_class::reserved},       // ORCHID
    {"2001:1ff:ffff::1", address_class::reserved},
    {"100::1", address_class::reserved},           // discard-only 100::/64
    {"64:ff9b:1::1", address_class::reserved},     // local-use translation 64:ff9b:1::/48
    {"5f00::1", address_class::reserved},          // SRv6 SIDs
    {"1fff::1", address_class::reserved},          // outside 2000::/3
    {"4000::1", address_class::reserved},
    {"fc00::1", address_class::private_network},
    {"fe80::1", address_class::link_local},
    {"ff02::1", address_class::multicast},
    // IPv6 forms of IPv4 addresses: the embedded address decides
    {"2002:7f00:1::", address_class::loopback},            // 6to4 of 127.0.0.1
    {"2002:c0a8:101::1", address_class::private_network},  // 6to4 of 192.168.1.1
    {"2002:a9fe:a9fe::", address_class::link_local},       // 6to4 of 169.254.169.254
    {"2002:c000:201::", address_class::documentation},     // 6to4 of 192.0.2.1
    {"2002::", address_class::unspecified},                // 6to4 of 0.0.0.0
    {"64:ff9b::7f00:1", address_class::loopback},          // NAT64 of 127.0.0.1
    {"64:ff9b::c612:1", address_class::benchmarking},      // NAT64 of 198.18.0.1
    {"64:ff9b::c000:1", address_class::reserved},          // NAT64 of 192.0.0.1
    {"64:ff9b::cb00:7101", address_class::documentation},  // NAT64 of 203.0.113.1
    {"::ffff:198.18.0.1", address_class::benchmarking},
    {"::ffff:0:127.0.0.1", address_class::loopback},       // IPv4-translated (SIIT)
    {"::ffff:0:10.0.0.1", address_class::private_network},
    {"::192.0.2.1", address_class::documentation},         // IPv4-compatible
  };
  for (const auto& r : rows) {
    auto address = boost::asio::ip::make_address(r.text);
    EXPECT_EQ(to_string(classify_address(address)), std::string(to_string(r.expected))) << r.text;
    auto why = refuse_target_address(address, false);
    EXPECT_NE(why, "") << r.text << " must be refused";
    EXPECT_NE(why.find(to_string(r.expected)), std::string::npos) << why;
    EXPECT_EQ(refuse_target_address(address, true), "") << r.text;
  }
}

// Special-use names are refused by name, in any case and with or without
// the trailing dot of an absolute name; IP literals with a trailing dot are
// still literals.
TEST(SsrfGuard, SpecialUseNamesAndTrailingDots) {
  for (const char* host : {"localhost", "localhost.", "LOCALHOST.", "api.localhost", "api.localhost.",
                           "foo.internal", "foo.internal.", "metadata.google.internal.", "printer.local",
                           "printer.local.", "nas.home.arpa", "nas.home.arpa.", "localhost.localdomain",
                           "localhost.localdomain.", "internal", "internal."}) {
    EXPECT_NE(refuse_target_name(host, false), "") << host;
    EXPECT_NE(refuse_literal_host(std::string("https://") + host + "/hook", false), "") << host;
    EXPECT_EQ(refuse_target_name(host, true), "") << host;
  }
  for (const char* host : {"example.com", "example.com.", "localhost.example.com", "internal.example.com.",
                           "mylocal", "notlocalhost", "local-host.org", "xinternal"})
    EXPECT_EQ(refuse_target_name(host, false), "") << host;
  for (const char* host : {"127.0.0.1.", "10.0.0.1.", "2130706433.", "0x7f000001."}) {
    auto address = literal_address(host);
    ASSERT_TRUE(address) << host;
    EXPECT_NE(refuse_literal_host(std::string("http://") + host + ":8080/hook", false), "") << host;
  }
  EXPECT_EQ(literal_address("127.0.0.1.")->to_string(), "127.0.0.1");
  EXPECT_FALSE(literal_address("."));
  EXPECT_FALSE(literal_address(""));
}

} // namespace
} // namespace evmesh

// Registration refuses a private target written in any literal form a
// resolver would read as an address, not only dotted quads.
TEST(SsrfGuard, NonCanonicalIpv4LiteralsAreAddresses) {
  for (const char* text : {"127.1", "2130706433", "0x7f000001", "017700000001", "0177.0.0.1", "127.0.0.1"}) {
    auto address = evmesh::literal_address(text);
    ASSERT_TRUE(address) << text;
    EXPECT_EQ(address->to_string(), "127.0.0.1") << text;
    EXPECT_NE(evmesh::refuse_literal_host(std::string("http://") + text + ":8080/hook", false), "") << text;
  }
  EXPECT_EQ(evmesh::literal_address("::ffff:10.0.0.1")->to_string(), "::ffff:10.0.0.1");
  EXPECT_FALSE(evmesh::literal_address("example.com"));
  EXPECT_FALSE(evmesh::literal_address("deadbeef.example"));
  EXPECT_EQ(evmesh::refuse_literal_host("http://example.com/hook", false), "");
  EXPECT_EQ(evmesh::refuse_literal_host("http://2130706433/hook", true), "");
}
