// Tests of request-target parsing (base/query_string.hpp): the path and
// query split, percent decoding (incl. %2A for wildcards, '+' as a space only
// in the query), duplicate and empty parameters, and malformed escapes.
#include "base/query_string.hpp"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace {

using evmesh::parse_target;
using evmesh::percent_decode;
using evmesh::request_target;
using params = std::map<std::string, std::string>;

void expect_target(const std::string& target, const std::string& path, const params& query) {
  auto parsed = parse_target(target);
  ASSERT_TRUE(parsed) << target;
  EXPECT_EQ(parsed->path, path) << target;
  EXPECT_EQ(parsed->query, query) << target;
}

TEST(query_string, paths_without_a_query) {
  expect_target("/", "/", {});
  expect_target("/v1/events", "/v1/events", {});
  expect_target("/v1/events/01JD0Q4X3M8ZQ6W7V5N2K1T9RB", "/v1/events/01JD0Q4X3M8ZQ6W7V5N2K1T9RB", {});
  expect_target("", "", {});
}

TEST(query_string, query_parameters) {
  expect_target("/v1/events?topic=orders.created&since=5", "/v1/events",
                {{"topic", "orders.created"}, {"since", "5"}});
  expect_target("/v1/events?", "/v1/events", {});
  expect_target("/x?flag", "/x", {{"flag", ""}});       // no '=': empty value
  expect_target("/x?a=", "/x", {{"a", ""}});
  expect_target("/x?=v", "/x", {{"", "v"}});
  expect_target("/x?a=1&&b=2&", "/x", {{"a", "1"}, {"b", "2"}}); // empty pairs are skipped
  expect_target("/x?a=1&a=2&a=3", "/x", {{"a", "3"}});            // later duplicates win
  expect_target("/x?a=b=c", "/x", {{"a", "b=c"}});                // only the first '=' splits
  expect_target("/x?q=what?", "/x", {{"q", "what?"}});            // only the first '?' splits
}

TEST(query_string, percent_escapes_in_path_and_query) {
  expect_target("/v1/events?topic=orders.%2A", "/v1/events", {{"topic", "orders.*"}});
  expect_target("/v1/events?topic=orders.%2a", "/v1/events", {{"topic", "orders.*"}});
  expect_target("/v1/events?topic=orders.%3E", "/v1/events", {{"topic", "orders.>"}});
  expect_target("/v1/events/a%20b%2Fc", "/v1/events/a b/c", {});
  expect_target("/x?k%26ey=v%3D1%26w", "/x", {{"k&ey", "v=1&w"}}); // escaped & and = are data
  expect_target("/x?u=%C3%A9", "/x", {{"u", "\xc3\xa9"}});
  expect_target("/x?z=%00", "/x", {{"z", std::string(1, '\0')}});
}

TEST(query_string, plus_is_a_space_in_the_query_but_not_in_the_path) {
  expect_target("/a+b?c+d=e+f", "/a+b", {{"c d", "e f"}});
  expect_target("/x?v=%2B", "/x", {{"v", "+"}}); // an escaped plus stays a plus
}

TEST(query_string, malformed_escapes_are_refused) {
  for (const char* target : {"/x%", "/x%4", "/x%zz", "/x%4g", "/%g4/y", "/x?a=%", "/x?a=%4",
                             "/x?a=%G1", "/x?%=1", "/x?a=1&b=%2", "/x?a=%%41"})
    EXPECT_FALSE(parse_target(target)) << target;
}

TEST(query_string, percent_decode_directly) {
  struct row {
    const char* text;
    bool plus_is_space;
    std::optional<std::string> decoded;
  };
  for (const auto& [text, plus_is_space, decoded] : {
         row{"", false, ""},
         row{"plain", false, "plain"},
         row{"%41%42c", false, "ABc"},
         row{"a+b", false, "a+b"},
         row{"a+b", true, "a b"},
         row{"%2a%2A", true, "**"},
         row{"%ff", false, "\xff"},
         row{"100%25", false, "100%"},
         row{"%", false, std::nullopt},
         row{"%4", true, std::nullopt},
         row{"ab%", true, std::nullopt},
         row{"ab%4", false, std::nullopt},
         row{"%x1", false, std::nullopt},
         row{"%1x", false, std::nullopt},
       })
    EXPECT_EQ(percent_decode(text, plus_is_space), decoded) << text << " plus_is_space " << plus_is_space;
}

TEST(query_string, escape_cut_off_by_the_end_of_the_view_is_refused) {
  // The bytes after the view would complete the escape; they must not be read.
  const std::string_view whole = "ab%41";
  EXPECT_FALSE(percent_decode(whole.substr(0, 3), false));
  EXPECT_FALSE(percent_decode(whole.substr(0, 4), false));
  EXPECT_EQ(percent_decode(whole, false), "abA");
}

} // namespace
