// Tests of bearer-token auth (model/auth.hpp): scope parsing and its errors,
// to_string round trips, which subscription patterns cover which, the
// publish / subscribe / admin checks, token format and uniqueness, and the
// SHA-256 token hash.
#include "model/auth.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace {

using evmesh::is_admin;
using evmesh::make_token;
using evmesh::may_publish;
using evmesh::may_subscribe;
using evmesh::parse_scope;
using evmesh::pattern_covers;
using evmesh::scope;
using evmesh::scope_list;
using evmesh::to_string;
using evmesh::token_hash;

scope parse_ok(const std::string& text) {
  std::string error;
  auto s = parse_scope(text, error);
  EXPECT_TRUE(s) << text << ": " << error;
  EXPECT_EQ(error, "") << text;
  return s.value_or(scope{});
}

std::string parse_error(const std::string& text) {
  std::string error;
  auto s = parse_scope(text, error);
  EXPECT_FALSE(s) << text << " parsed as " << (s ? to_string(*s) : "");
  return error;
}

scope_list scopes(std::initializer_list<const char*> texts) {
  scope_list out;
  for (const char* text : texts)
    out.push_back(parse_ok(text));
  return out;
}

// ---- parse_scope / to_string ---------------------------------------------

TEST(auth_scope, parses_valid_scopes) {
  struct row {
    const char* text;
    scope::kind what;
    const char* pattern;
  };
  for (const auto& [text, what, pattern] : {
         row{"admin", scope::kind::admin, ""},
         row{"publish:x.*", scope::kind::publish, "x.*"},
         row{"publish:orders.created", scope::kind::publish, "orders.created"},
         row{"subscribe:>", scope::kind::subscribe, ">"},
         row{"subscribe:a.*.c.>", scope::kind::subscribe, "a.*.c.>"},
       }) {
    auto s = parse_ok(text);
    EXPECT_EQ(s.what, what) << text;
    EXPECT_EQ(s.pattern, pattern) << text;
    EXPECT_EQ(to_string(s), text); // round trip
  }
}

TEST(auth_scope, refuses_texts_that_are_not_scopes) {
  const std::string expected_tail = "\" is not one of admin, publish:<pattern>, subscribe:<pattern>";
  for (const char* text : {"", "root", "Admin", "admin:x", "publish", "subscribe", "read:x",
                           ":x"})
    EXPECT_EQ(parse_error(text), "scope \"" + std::string(text) + expected_tail) << text;
}

TEST(auth_scope, refuses_invalid_patterns_and_says_why) {
  EXPECT_EQ(parse_error("publish:"), R"(scope "publish:": pattern is empty)");
  EXPECT_EQ(parse_error("publish:a..b"), R"(scope "publish:a..b": token 2 of "a..b" is empty)");
  EXPECT_EQ(parse_error("subscribe:a.>.b"),
            R"(scope "subscribe:a.>.b": ">" must be the last token (token 2 of "a.>.b"))");
  for (const char* text : {"subscribe:", "subscribe:a b", "publish:a.b*", "publish:.a"})
    EXPECT_NE(parse_error(text), "") << text;
}

TEST(auth_scope, to_string_of_each_kind) {
  EXPECT_EQ(to_string(scope{scope::kind::admin, {}}), "admin");
  EXPECT_EQ(to_string(scope{scope::kind::publish, "a.b"}), "publish:a.b");
  EXPECT_EQ(to_string(scope{scope::kind::subscribe, "a.>"}), "subscribe:a.>");
}

// ---- pattern_covers ------------------------------------------------------

TEST(auth_pattern_covers, table) {
  struct row {
    const char* covering;
    const char* pattern;
    bool covers;
  };
  const std::vector<row> rows{
    {">", "a", true},
    {">", "a.b.c", true},
    {">", "*", true},
    {">", "a.>", true},
    {">", ">", true},
    {"a.*", "a.b", true},
    {"a.*", "a.*", true},
    {"a.*", "a.>", false},
    {"a.*", "a.b.c", false},
    {"a.*", "a", false},
    {"a.*", "b.c", false},
    {"a.>", "a.*", true},
    {"a.>", "a.b.>", true},
    {"a.>", "a.b", true},
    {"a.>", "a.b.c.d", true},
    {"a.>", "a", false},
    {"a.>", ">", false},
    {"a.>", "b.>", false},
    {"*.b", "a.b", true},
    {"*.b", "a.c", false},
    {"*.b", "*.b", true},
    {"*", "*", true},
    {"*", "a", true},
    {"*", ">", false},
    {"*", "a.b", false},
    {"a", "*", false},
    {"a", ">", false},
    {"a.b", "a.b", true},
    {"a.b", "a.c", false},
    {"a.b", "a.b.c", false},
    {"a.b.c", "a.b", false},
    {"*.>", "a.b", true},
    {"*.>", "a", false},
    {"*.>", ">", false},
    {"a.b.>", "a.>", false},
  };
  for (const auto& [covering, pattern, covers] : rows)
    EXPECT_EQ(pattern_covers(covering, pattern), covers) << covering << " covers " << pattern;
}

TEST(auth_pattern_covers, identical_patterns_cover_each_other) {
  for (const char* p : {"a", "a.b", "*", ">", "a.*", "a.>", "*.b", "*.*.>", "a.*.c"})
    EXPECT_TRUE(pattern_covers(p, p)) << p;
}

// ---- permission checks ---------------------------------------------------

TEST(auth_permissions, admin_may_do_everything) {
  auto admin = scopes({"admin"});
  EXPECT_TRUE(is_admin(admin));
  EXPECT_TRUE(may_publish(admin, "any.topic"));
  EXPECT_TRUE(may_subscribe(admin, ">"));
  EXPECT_TRUE(is_admin(scopes({"publish:a", "admin"})));
}

TEST(auth_permissions, no_scopes_may_do_nothing) {
  scope_list none;
  EXPECT_FALSE(is_admin(none));
  EXPECT_FALSE(may_publish(none, "a"));
  EXPECT_FALSE(may_subscribe(none, "a"));
}

TEST(auth_permissions, publish_scopes_match_topics) {
  auto list = scopes({"publish:orders.*", "publish:audit.>"});
  EXPECT_FALSE(is_admin(list));
  EXPECT_TRUE(may_publish(list, "orders.created"));
  EXPECT_TRUE(may_publish(list, "audit.login.failed"));
  EXPECT_FALSE(may_publish(list, "orders"));
  EXPECT_FALSE(may_publish(list, "orders.created.eu"));
  EXPECT_FALSE(may_publish(list, "audit"));
  EXPECT_FALSE(may_publish(list, "billing.paid"));
  // Publishing rights give no subscribing rights.
  EXPECT_FALSE(may_subscribe(list, "orders.created"));
}

TEST(auth_permissions, subscribe_scopes_cover_patterns) {
  auto list = scopes({"subscribe:orders.>", "subscribe:*.health"});
  EXPECT_TRUE(may_subscribe(list, "orders.created"));
  EXPECT_TRUE(may_subscribe(list, "orders.*"));
  EXPECT_TRUE(may_subscribe(list, "orders.>"));
  EXPECT_TRUE(may_subscribe(list, "db.health"));
  EXPECT_FALSE(may_subscribe(list, "orders"));
  EXPECT_FALSE(may_subscribe(list, ">"));
  EXPECT_FALSE(may_subscribe(list, "*.*"));
  EXPECT_FALSE(may_subscribe(list, "db.health.x"));
  // Subscribing rights give no publishing rights.
  EXPECT_FALSE(may_publish(list, "orders.created"));
}

// ---- tokens --------------------------------------------------------------

bool is_token_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

TEST(auth_token, format_is_evm_plus_32_url_safe_chars) {
  for (int i = 0; i < 100; ++i) {
    auto token = make_token();
    ASSERT_EQ(token.size(), 36u) << token;
    EXPECT_EQ(token.substr(0, 4), "evm_") << token;
    EXPECT_TRUE(std::all_of(token.begin() + 4, token.end(), is_token_char)) << token;
  }
}

TEST(auth_token, tokens_are_unique) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i)
    seen.insert(make_token());
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(auth_token, tokens_use_the_whole_alphabet) {
  // 1000 tokens draw 32000 characters from 64: each must show up.
  std::set<char> chars;
  for (int i = 0; i < 1000; ++i) {
    auto token = make_token();
    chars.insert(token.begin() + 4, token.end());
  }
  EXPECT_EQ(chars.size(), 64u);
}

TEST(auth_token_hash, is_lowercase_hex_sha256) {
  EXPECT_EQ(token_hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(token_hash(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  auto h = token_hash(make_token());
  ASSERT_EQ(h.size(), 64u);
  EXPECT_TRUE(std::all_of(h.begin(), h.end(),
                          [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }))
    << h;
}

TEST(auth_token_hash, equal_for_equal_input_and_different_otherwise) {
  auto token = make_token();
  EXPECT_EQ(token_hash(token), token_hash(std::string(token)));
  EXPECT_NE(token_hash(token), token_hash(token + "x"));
  EXPECT_NE(token_hash("abc"), token_hash("abd"));
  EXPECT_NE(token_hash("abc"), token_hash("ABC"));
  EXPECT_NE(token_hash(make_token()), token_hash(make_token()));
}

} // namespace
