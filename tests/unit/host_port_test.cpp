// HOST:PORT is parsed in one place for --http, --cluster, --peers and the
// cluster frames; these are the forms an operator writes and the mistakes
// each of them must refuse.
#include "base/host_port.hpp"

#include <gtest/gtest.h>

namespace evmesh {
namespace {

host_port parsed(std::string_view text) {
  host_port out;
  EXPECT_EQ(parse_host_port(text, out), host_port_errc::ok) << text;
  return out;
}

host_port_errc refusal(std::string_view text) {
  host_port out{"untouched", 1};
  auto code = parse_host_port(text, out);
  EXPECT_EQ(out.host, "untouched") << text;
  return code;
}

TEST(HostPort, NamesAddressesAndBracketedIpv6Parse) {
  EXPECT_EQ(parsed("127.0.0.1:7000").host, "127.0.0.1");
  EXPECT_EQ(parsed("127.0.0.1:7000").port, 7000);
  EXPECT_EQ(parsed("node-a.internal:65535").port, 65535);
  EXPECT_EQ(parsed("[::1]:0").host, "::1");
  EXPECT_EQ(parsed("[::1]:0").port, 0);
  EXPECT_EQ(parsed(":8080").host, "");
}

TEST(HostPort, AMissingOrBadPortIsRefusedWithItsReason) {
  EXPECT_EQ(refusal("localhost"), host_port_errc::not_host_port);
  EXPECT_EQ(refusal("localhost:"), host_port_errc::not_host_port);
  EXPECT_EQ(refusal("localhost:65536"), host_port_errc::bad_port);
  EXPECT_EQ(refusal("localhost:123456"), host_port_errc::bad_port);
  EXPECT_EQ(refusal("localhost:-1"), host_port_errc::bad_port);
  EXPECT_EQ(refusal("localhost: 80"), host_port_errc::bad_port);
  EXPECT_EQ(refusal("localhost:80x"), host_port_errc::bad_port);
}

TEST(HostPort, AnIpv6HostIsWrittenInBrackets) {
  EXPECT_EQ(address_host("::1"), "[::1]");
  EXPECT_EQ(address_host("127.0.0.1"), "127.0.0.1");
  EXPECT_EQ(address_host("node-a"), "node-a");
}

} // namespace
} // namespace evmesh
