// The JSON forms of events in the HTTP API: every accepted publish body
// (evmesh's own, CloudEvents structured, batch and binary), the error for
// each way a body can be wrong, rendering, and a fuzz-style run of random and
// mutated bodies that must each be accepted as valid drafts or refused with a
// reason — never a throw.
#include "model/event_json.hpp"
#include "http/publish_request.hpp"

#include <evmesh/topic.hpp>

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <random>

namespace evmesh {
namespace {

using nlohmann::json;
namespace bhttp = boost::beast::http;

http::request post(std::string body, std::string content_type = "application/json",
                   std::map<std::string, std::string> headers = {}) {
  http::request req{bhttp::verb::post, "/v1/events", 11};
  if (!content_type.empty())
    req.set(bhttp::field::content_type, content_type);
  for (const auto& [name, value] : headers)
    req.set(name, value);
  req.body() = std::move(body);
  return req;
}

TEST(EventJson, PlainEventAndBatch) {
  auto one = parse_publish_request(post(R"({"topic":"a.b","data":{"x" : 1},"id":"i1","headers":{"h":"v"}})"));
  ASSERT_EQ(one.error, "");
  EXPECT_FALSE(one.batch);
  ASSERT_EQ(one.drafts.size(), 1u);
  EXPECT_EQ(one.drafts[0].topic, "a.b");
  EXPECT_EQ(one.drafts[0].id, "i1");
  EXPECT_EQ(one.drafts[0].data, R"({"x":1})");
  EXPECT_EQ(one.drafts[0].headers.at("h"), "v");
  auto batch = parse_publish_request(post(R"([{"topic":"a","data":null},{"topic":"b","data":[1]}])"));
  ASSERT_EQ(batch.error, "");
  EXPECT_TRUE(batch.batch);
  ASSERT_EQ(batch.drafts.size(), 2u);
  EXPECT_EQ(batch.drafts[0].data, "null");
  // No content type at all is read as JSON (curl --data-binary without -H).
  EXPECT_EQ(parse_publish_request(post(R"({"topic":"a","data":1})", "")).error, "");
  EXPECT_EQ(parse_publish_request(post(R"({"topic":"a","data":1})", "application/json; charset=utf-8")).error, "");
}

TEST(EventJson, CloudEventsModes) {
  auto structured = parse_publish_request(
    post(R"({"specversion":"1.0","type":"t.x","id":"c1","source":"/s","subject":"sub","data_base64":"AAE="})",
         "application/cloudevents+json"));
  ASSERT_EQ(structured.error, "");
  EXPECT_TRUE(structured.drafts[0].binary);
  EXPECT_EQ(structured.drafts[0].data, std::string("\x00\x01", 2));
  EXPECT_EQ(structured.drafts[0].headers.at("ce-source"), "/s");
  EXPECT_EQ(structured.drafts[0].headers.at("ce-subject"), "sub");
  auto batch = parse_publish_request(
    post(R"([{"specversion":"1.0","type":"t.x","id":"c1","source":"/s"}])", "application/cloudevents-batch+json"));
  ASSERT_EQ(batch.error, "");
  EXPECT_EQ(batch.drafts[0].data, "null");
  auto binary = parse_publish_request(post(R"( {"a": 1} )", "application/json",
                                           {{"ce-specversion", "1.0"}, {"ce-type", "t.y"}, {"ce-id", "c2"}, {"ce-source", "/s"}}));
  ASSERT_EQ(binary.error, "");
  EXPECT_EQ(binary.drafts[0].data, R"({"a":1})");
  EXPECT_EQ(binary.drafts[0].headers.at("ce-source"), "/s");
  auto latin1 = parse_publish_request(post("1", "application/json",
                                           {{"ce-specversion", "1.0"}, {"ce-type", "t.y"}, {"ce-id", "c3"}, {"ce-source", "caf\xe9"}}));
  EXPECT_NE(latin1.error.find("header \"ce-source\" is not valid UTF-8"), std::string::npos) << latin1.error;
}

TEST(EventJson, EachKindOfWrongBodyIsNamed) {
  struct wrong {
    std::string body, content_type, expected;
  };
  std::vector<wrong> cases{
    {"{", "application/json", "not valid JSON"},
    {"[]", "application/json", "empty"},
    {"5", "application/json", "must be a JSON object"},
    {R"({"data":1})", "application/json", "\"topic\" is required"},
    {R"({"topic":"a"})", "application/json", "\"data\" is required"},
    {R"({"topic":"a","data":1,"id":5})", "application/json", "\"id\" must be a string"},
    {R"({"topic":"a","data":1,"headers":[]})", "application/json", "\"headers\" must be an object"},
    {R"({"topic":"a","data":1,"headers":{"h":1}})", "application/json", "header \"h\" must be a string"},
    {R"([{"topic":"a","data":1},{"topic":"a.*","data":1}])", "application/json", "event 1"},
    {R"({"type":"a","id":"x"})", "application/cloudevents+json", "\"specversion\" is required"},
    {R"({"specversion":"0.3","type":"a","id":"x"})", "application/cloudevents+json", "only 1.0"},
    {R"({"specversion":"1.0","type":"a","id":"x","data_base64":"!!"})", "application/cloudevents+json", "base64"},
    {R"({"specversion":"1.0","type":"a","id":"x"})", "application/cloudevents-batch+json", "must be a JSON array"},
    {"x", "text/plain", "content type \"text/plain\" is not accepted"},
  };
  for (const auto& c : cases) {
    auto parsed = parse_publish_request(post(c.body, c.content_type));
    EXPECT_NE(parsed.error.find(c.expected), std::string::npos)
      << c.body << " → \"" << parsed.error << "\", expected to contain " << c.expected;
  }
}

TEST(EventJson, RenderedEventIsTheContractShape) {
  event e;
  e.id = "i\"d";
  e.topic = "a.b";
  e.time_us = 0;
  e.seq = 7;
  e.data = R"({"x":1})";
  auto plain = json::parse(render_event(e));
  EXPECT_EQ(plain, json::parse(R"({"id":"i\"d","topic":"a.b","time":"1970-01-01T00:00:00.000000Z","seq":7,"data":{"x":1}})"));
  e.binary = true;
  e.data = std::string("\xff\x00", 2);
  e.headers["bad"] = "\xc3";  // not UTF-8: replaced, never a throw
  auto bin = json::parse(render_event(e));
  EXPECT_EQ(bin["data_base64"], "/wA=");
  EXPECT_FALSE(bin.contains("data"));
  EXPECT_TRUE(bin["headers"]["bad"].is_string());
}

// Builds random JSON of bounded depth over a small vocabulary, so that some
// bodies are valid events and most are wrong in many different ways.
json random_json(std::mt19937& rng, int depth) {
  static const std::vector<std::string> words{"topic", "data", "id", "headers", "specversion", "type",
                                              "data_base64", "a.b", "1.0", "x", "a..b", ">", "AAE=", ""};
  auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
  switch (depth <= 0 ? pick(4) : pick(6)) {
    case 0: return words[pick(words.size())];
    case 1: return static_cast<int>(rng() % 100) - 50;
    case 2: return nullptr;
    case 3: return rng() % 2 == 0;
    case 4: {
      json array = json::array();
      for (std::size_t i = 0, n = pick(4); i < n; ++i)
        array.push_back(random_json(rng, depth - 1));
      return array;
    }
    default: {
      json object = json::object();
      for (std::size_t i = 0, n = pick(5); i < n; ++i)
        object[words[pick(words.size())]] = random_json(rng, depth - 1);
      return object;
    }
  }
}

TEST(EventJson, FuzzedBodiesAreAcceptedValidOrRefusedWithAReason) {
  std::mt19937 rng(20261123);
  const std::vector<std::string> types{"application/json", "application/cloudevents+json",
                                       "application/cloudevents-batch+json", ""};
  std::size_t accepted = 0, refused = 0;
  for (int i = 0; i < 20000; ++i) {
    auto body = random_json(rng, 3).dump();
    if (i % 3 == 0 && !body.empty()) {  // mutate: flip, drop or insert bytes
      for (int m = 0; m < 3; ++m) {
        auto at = rng() % body.size();
        switch (rng() % 3) {
          case 0: body[at] = static_cast<char>(rng()); break;
          case 1: body.erase(at, 1); break;
          default: body.insert(at, 1, static_cast<char>(rng())); break;
        }
        if (body.empty())
          break;
      }
    }
    parsed_publish parsed;
    ASSERT_NO_THROW(parsed = parse_publish_request(post(body, types[i % types.size()]))) << body;
    if (!parsed.error.empty()) {
      ++refused;
      continue;
    }
    ++accepted;
    for (const auto& d : parsed.drafts) {
      ASSERT_TRUE(is_valid_topic(d.topic)) << body;
      ASSERT_TRUE(d.id.empty() || check_event_id(d.id).empty()) << body;
      ASSERT_TRUE(d.binary || json::accept(d.data)) << body;
    }
  }
  EXPECT_GT(accepted, 0u);
  EXPECT_GT(refused, 0u);
}

} // namespace
} // namespace evmesh
