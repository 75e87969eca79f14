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
                    "2606:4700:4700::1111", "2001:db8::1", "::ffff:8.8.8.8", "64:ff9b::808:808"}) {
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
