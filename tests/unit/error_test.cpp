// Tests of the public error type: code names and what an error carries.
#include <evmesh/error.hpp>

#include <gtest/gtest.h>

namespace {

using evmesh::errc;

TEST(error, code_names) {
  EXPECT_STREQ(to_string(errc::invalid_topic), "invalid_topic");
  EXPECT_STREQ(to_string(errc::reserved_topic), "reserved_topic");
  EXPECT_STREQ(to_string(errc::invalid_pattern), "invalid_pattern");
  EXPECT_STREQ(to_string(errc::invalid_id), "invalid_id");
  EXPECT_STREQ(to_string(errc::invalid_header), "invalid_header");
  EXPECT_STREQ(to_string(errc::invalid_data), "invalid_data");
  EXPECT_STREQ(to_string(errc::too_large), "too_large");
  EXPECT_STREQ(to_string(errc::malformed), "malformed");
  EXPECT_STREQ(to_string(errc::unavailable), "unavailable");
  EXPECT_STREQ(to_string(errc::insecure_config), "insecure_config");
}

TEST(error, carries_code_and_message) {
  const evmesh::error e{errc::too_large, "body is 2 MiB, the limit is 1 MiB"};
  EXPECT_EQ(e.code(), errc::too_large);
  EXPECT_STREQ(e.what(), "body is 2 MiB, the limit is 1 MiB");
}

} // namespace
