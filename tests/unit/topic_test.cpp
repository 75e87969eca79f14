// Tests of the topic and pattern rules: which names are valid, the exact
// wording of the errors users see, and the NATS matching semantics.
#include <evmesh/topic.hpp>

#include <gtest/gtest.h>

#include <string>

namespace {

using evmesh::check_pattern;
using evmesh::check_topic;
using evmesh::is_valid_pattern;
using evmesh::is_valid_topic;
using evmesh::topic_matches;

TEST(topic, valid_topics) {
  for (const char* topic : {"orders", "orders.created", "wallet.tx.confirmed", "a.b.c.d.e.f",
                            "A-Z_09.x", "_", "-", "123"}) {
    EXPECT_EQ(check_topic(topic), "") << topic;
    EXPECT_TRUE(is_valid_topic(topic)) << topic;
    EXPECT_TRUE(is_valid_pattern(topic)) << topic; // every topic is also a pattern
  }
}

TEST(topic, length_limit) {
  std::string at_limit(255, 'a');
  EXPECT_EQ(check_topic(at_limit), "");
  for (std::size_t i = 1; i < at_limit.size(); i += 2)
    at_limit[i] = '.'; // 128 one-byte tokens, 255 bytes
  EXPECT_EQ(check_topic(at_limit), "");
  EXPECT_EQ(check_topic(std::string(256, 'a')), "topic is 256 bytes, the limit is 255");
  EXPECT_EQ(check_topic(std::string(300, 'a')), "topic is 300 bytes, the limit is 255");
  EXPECT_EQ(check_pattern(std::string(300, 'a')), "pattern is 300 bytes, the limit is 255");
}

TEST(topic, invalid_topics_say_what_is_wrong) {
  EXPECT_EQ(check_topic(""), "topic is empty");
  EXPECT_EQ(check_topic("orders..x"), R"(token 2 of "orders..x" is empty)");
  EXPECT_EQ(check_topic(".orders"), R"(token 1 of ".orders" is empty)");
  EXPECT_EQ(check_topic("orders."), R"(token 2 of "orders." is empty)");
  EXPECT_EQ(check_topic("."), R"(token 1 of "." is empty)");
  EXPECT_EQ(check_topic("a#"),
            R"(character '#' is not allowed in token 1 of "a#"; tokens use only A-Z a-z 0-9 _ -)");
  EXPECT_EQ(check_topic("orders.new order"),
            R"(byte 0x20 is not allowed in token 2 of "orders.new order"; tokens use only A-Z a-z 0-9 _ -)");
  EXPECT_EQ(check_topic("x.caf\xc3\xa9"),
            R"(byte 0xc3 is not allowed in token 2 of "x.caf\xc3\xa9"; tokens use only A-Z a-z 0-9 _ -)");
  EXPECT_EQ(check_topic(std::string_view{"a\0b", 3}),
            R"(byte 0x00 is not allowed in token 1 of "a\x00b"; tokens use only A-Z a-z 0-9 _ -)");
  EXPECT_EQ(check_topic("a\"b"),
            R"(character '"' is not allowed in token 1 of "a\"b"; tokens use only A-Z a-z 0-9 _ -)");
  EXPECT_EQ(check_topic("orders.*"),
            R"(wildcard "*" is only allowed in patterns, not in a topic (token 2 of "orders.*"))");
  EXPECT_EQ(check_topic("wallet.>"),
            R"(wildcard ">" is only allowed in patterns, not in a topic (token 2 of "wallet.>"))");
  EXPECT_EQ(check_topic("a*"),
            R"(character '*' is not allowed in token 1 of "a*"; tokens use only A-Z a-z 0-9 _ -)");
  for (const char* topic : {"", "a..b", "a b", "*", ">", "a.>", "a/b", "ü"})
    EXPECT_FALSE(is_valid_topic(topic)) << topic;
}

TEST(topic, valid_patterns) {
  for (const char* pattern : {"orders.*", "wallet.>", "*", ">", "*.*", "*.b.>", "a.*.c", "*.>"})
    EXPECT_EQ(check_pattern(pattern), "") << pattern;
}

TEST(topic, invalid_patterns_say_what_is_wrong) {
  EXPECT_EQ(check_pattern(""), "pattern is empty");
  EXPECT_EQ(check_pattern(">.a"), R"(">" must be the last token (token 1 of ">.a"))");
  EXPECT_EQ(check_pattern("a.>.>"), R"(">" must be the last token (token 2 of "a.>.>"))");
  EXPECT_EQ(check_pattern("orders.b*"),
            R"("*" must be a whole token (token 2 of "orders.b*" is "b*"))");
  EXPECT_EQ(check_pattern("a>"), R"(">" must be a whole token (token 1 of "a>" is "a>"))");
  EXPECT_EQ(check_pattern("**"), R"("*" must be a whole token (token 1 of "**" is "**"))");
  EXPECT_EQ(check_pattern("a..*"), R"(token 2 of "a..*" is empty)");
  EXPECT_EQ(check_pattern("a.#"),
            R"(character '#' is not allowed in token 2 of "a.#"; tokens use only A-Z a-z 0-9 _ -)");
  for (const char* pattern : {"", ">.a", "a.>.b", "a*", "*a", "a.", "#"})
    EXPECT_FALSE(is_valid_pattern(pattern)) << pattern;
}

struct match_case {
  const char* pattern;
  const char* topic;
  bool matches;
};

TEST(topic, matching_table) {
  const match_case cases[] = {
    {"orders.created", "orders.created", true},
    {"orders.created", "orders.created.eu", false},
    {"orders.created", "orders", false},
    {"orders.created", "orders.create", false},
    {"orders.create", "orders.created", false},
    {"orders", "orders", true},
    {"orders", "orderss", false},
    // `*` is exactly one token
    {"orders.*", "orders.created", true},
    {"orders.*", "orders", false},
    {"orders.*", "orders.created.eu", false},
    {"*", "orders", true},
    {"*", "orders.created", false},
    {"*.created", "orders.created", true},
    {"*.created", "orders.deleted", false},
    {"a.*.c", "a.b.c", true},
    {"a.*.c", "a.c", false},
    {"a.*.c", "a.b.b.c", false},
    {"*.*", "a.b", true},
    {"*.*", "a", false},
    // `>` is one or more trailing tokens
    {"wallet.>", "wallet.tx", true},
    {"wallet.>", "wallet.tx.confirmed", true},
    {"wallet.>", "wallet", false},
    {"wallet.>", "wallets.tx", false},
    {">", "a", true},
    {">", "a.b.c", true},
    {"*.>", "a", false},
    {"*.>", "a.b", true},
    {"a.*.>", "a.b.c.d", true},
    {"a.*.>", "a.b", false},
    {"a.b.>", "a.b.c", true},
    {"a.b.>", "a.x.c", false},
  };
  for (const auto& c : cases)
    EXPECT_EQ(topic_matches(c.pattern, c.topic), c.matches) << c.pattern << " vs " << c.topic;
}

} // namespace
