// The envelope rules every published event meets (model/envelope): checks
// and JSON data normalization (validated, whitespace outside strings removed,
// everything else kept as the publisher spelled it).
#include "model/envelope.hpp"

#include <gtest/gtest.h>

namespace evmesh {
namespace {

std::string normalized(std::string data) {
  auto why = normalize_json_data(data);
  EXPECT_EQ(why.message, "") << data;
  return data;
}

TEST(Publisher, NormalizationRemovesOnlyWhitespaceOutsideStrings) {
  EXPECT_EQ(normalized(" { \"a\" : 1 ,\n\t\"b\" : [ 1 , 2 ] }\r\n"), R"({"a":1,"b":[1,2]})");
  EXPECT_EQ(normalized(R"({"s" : "x \" y , z"})"), R"({"s":"x \" y , z"})");
  EXPECT_EQ(normalized(R"(["a\\" , "b"])"), R"(["a\\","b"])");
  EXPECT_EQ(normalized(R"("  spaced  ")"), R"("  spaced  ")");
  EXPECT_EQ(normalized("12345678901234567890123"), "12345678901234567890123") << "big numbers kept";
  EXPECT_EQ(normalized("1.50e+3"), "1.50e+3");
  EXPECT_EQ(normalized(R"("\u00e9")"), R"("\u00e9")");
  EXPECT_EQ(normalized("null"), "null");
}

TEST(Publisher, InvalidJsonIsRefusedWithTheParserReason) {
  for (std::string bad : {"", "{", "{\"a\":}", "[1,]", "'x'", "nul", "\"\xff\"", "1 2"}) {
    auto why = normalize_json_data(bad);
    EXPECT_NE(why.message.find("data is not valid JSON"), std::string::npos) << bad;
    EXPECT_EQ(why.code, envelope_errc::invalid_json) << bad;
  }
}

TEST(Publisher, EnvelopeChecksTopicAndId) {
  event e;
  e.topic = "orders.created";
  EXPECT_EQ(check_envelope(e).message, "");
  e.id = "my-id-1";
  EXPECT_EQ(check_envelope(e).message, "");
  e.id = "bad id";
  EXPECT_NE(check_envelope(e).message, "");
  e.id.clear();
  e.topic = "orders.*";
  EXPECT_NE(check_envelope(e).message, "") << "a pattern is not a topic";
}

TEST(Publisher, EnvelopeRefusesOversizedDataAndRegistryTopics) {
  event e;
  e.topic = "files.uploaded";
  e.data.assign(max_event_data_bytes, 'x');
  EXPECT_EQ(check_envelope(e).message, "");
  e.data.push_back('x');
  EXPECT_NE(check_envelope(e).message.find("more than the 8388608 an event may carry"), std::string::npos);
  e.data = "1";
  e.topic = "evmesh.registry.token";
  EXPECT_NE(check_envelope(e).message.find("reserved"), std::string::npos);
  e.topic = "evmesh.endpoint.disabled";
  EXPECT_EQ(check_envelope(e).message, "") << "only evmesh.registry. is reserved";
}

TEST(Publisher, EnvelopeNamesTheRuleBroken) {
  auto code_of = [](std::string topic, std::string id, std::string data, std::string header) {
    event e;
    e.topic = std::move(topic);
    e.id = std::move(id);
    e.data = std::move(data);
    if (!header.empty())
      e.headers = {{"h", header}};
    return check_envelope(e).code;
  };
  EXPECT_EQ(code_of("a.b", "id-1", "1", "ok"), envelope_errc::ok);
  EXPECT_EQ(code_of("a..b", "", "1", ""), envelope_errc::invalid_topic);
  EXPECT_EQ(code_of("a.b", "", std::string(max_event_data_bytes + 1, 'x'), ""), envelope_errc::data_too_large);
  EXPECT_EQ(code_of("evmesh.registry.token", "", "1", ""), envelope_errc::reserved_topic);
  EXPECT_EQ(code_of("a.b", "bad id", "1", ""), envelope_errc::invalid_id);
  EXPECT_EQ(code_of("a.b", "", "1", "caf\xe9"), envelope_errc::invalid_header);
}

TEST(Publisher, HeadersMustBeUtf8) {
  event e;
  e.topic = "a.b";
  e.headers = {{"ce-source", "caf\xc3\xa9 \xf0\x9f\x8e\x89"}};
  EXPECT_EQ(check_envelope(e).message, "");
  for (std::string bad : {"caf\xe9", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82"}) {
    e.headers = {{"h", bad}};
    EXPECT_NE(check_envelope(e).message.find("header \"h\" is not valid UTF-8"), std::string::npos) << bad;
  }
}

} // namespace
} // namespace evmesh
