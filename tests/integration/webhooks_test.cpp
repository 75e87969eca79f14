// Webhook delivery end to end: the real `evmesh` binary delivering to the
// real webhook_receiver process over loopback. Retry schedules are fractions
// of a second so retries happen within the test.
#include "support/api_client.hpp"
#include "support/node_process.hpp"
#include "support/webhook_receiver.hpp"

#include "base/base64.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <random>
#include <set>

#ifndef WEBHOOK_VERIFIER_SCRIPT
#error "WEBHOOK_VERIFIER_SCRIPT must name tests/support/verify_webhooks.js"
#endif

namespace evmesh::test {
namespace {

using nlohmann::json;
using std::chrono::seconds;

const std::vector<std::string> fast_retries{"--allow-private-targets", "--retry-schedule",
                                            "0,0.02,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,"
                                            "0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05"};

std::string random_secret() {
  std::random_device rd;
  std::string bytes(32, '\0');
  for (auto& b : bytes)
    b = static_cast<char>(rd());
  return "whsec_" + base64_encode(bytes);
}

json create_endpoint(api_client& api, json body) {
  auto r = api.post("/v1/endpoints", body);
  EXPECT_EQ(r.status, 201) << r.body;
  return r.json();
}

std::vector<std::string> publish_many(api_client& api, const std::string& topic, int count) {
  std::vector<std::string> ids;
  for (int start = 0; start < count; start += 100) {
    json batch = json::array();
    for (int i = start; i < std::min(count, start + 100); ++i)
      batch.push_back({{"topic", topic}, {"data", {{"i", i}}}});
    auto r = api.post("/v1/events", batch);
    EXPECT_EQ(r.status, 202) << r.body;
    for (const auto& ack : r.json())
      ids.push_back(ack["id"]);
  }
  return ids;
}

std::set<std::string> ids_answered(const json& requests, int status = 200) {
  std::set<std::string> out;
  for (const auto& r : requests)
    if (r["answered"] == status)
      out.insert(r["id"].get<std::string>());
  return out;
}

// Runs the Node verifier on what the receiver got; "" when every request
// verified with every secret, else its complaint.
std::string verify_independently(const json& received, const std::vector<std::string>& secrets) {
  temp_dir dir;
  auto input = dir.path() / "received.json";
  {
    std::ofstream out(input);
    out << received.dump();
  }
  std::string command = "node " + std::string(WEBHOOK_VERIFIER_SCRIPT);
  for (const auto& s : secrets)
    command += " '" + s + "'";
  command += " < " + input.string() + " 2>&1";
  std::string output;
  FILE* pipe = popen(command.c_str(), "r");
  char buffer[512];
  while (pipe && fgets(buffer, sizeof buffer, pipe))
    output += buffer;
  int status = pipe ? pclose(pipe) : -1;
  return status == 0 ? "" : output;
}

TEST(Webhooks, FlakyReceiverGetsEveryEventWithStableIdsAndValidSignatures) {
  temp_dir dir;
  auto secret = random_secret();
  receiver_process receiver({"--fail-percent", "50", "--secret", secret});
  node_process node(dir.path(), fast_retries);
  api_client api(node.url(), node.admin_token());
  auto ep = create_endpoint(api, {{"url", receiver.url()}, {"topics", {"orders.*"}}, {"secret", secret}});
  EXPECT_EQ(ep["secret"], secret);
  auto ids = publish_many(api, "orders.created", 200);
  publish_many(api, "other.topic", 20);  // not for this endpoint
  const std::set<std::string> published(ids.begin(), ids.end());

  auto got = receiver.wait_until([&](const json& r) { return ids_answered(r).size() >= published.size(); });
  EXPECT_EQ(ids_answered(got), published);
  std::map<std::string, std::string> body_of;
  std::size_t failures = 0;
  for (const auto& r : got) {
    auto id = r["id"].get<std::string>();
    EXPECT_TRUE(published.count(id)) << "unexpected webhook-id " << id;
    EXPECT_TRUE(r["verified"].get<bool>()) << id;
    auto body = json::parse(r["body"].get<std::string>());
    EXPECT_EQ(body["id"], id) << "the body's id is the webhook-id";
    EXPECT_EQ(body["type"], "orders.created");
    auto [it, fresh] = body_of.emplace(id, r["body"]);
    EXPECT_EQ(it->second, r["body"].get<std::string>()) << "a retry sent other bytes for " << id;
    failures += r["answered"] != 200;
  }
  EXPECT_GT(failures, 20u) << "the receiver should have failed about half of the requests";
  EXPECT_EQ(verify_independently(json{{"requests", got}}, {secret}), "");

  // Delivery state per event, and the attempt log.
  auto find = api.get("/v1/events/" + ids.front()).json();
  ASSERT_EQ(find["deliveries"].size(), 1u) << find.dump();
  EXPECT_EQ(find["deliveries"][0]["endpoint_id"], ep["id"]);
  auto attempts = api.get("/v1/endpoints/" + ep["id"].get<std::string>() + "/attempts?limit=1000");
  ASSERT_EQ(attempts.status, 200) << attempts.body;
  auto deadline = std::chrono::steady_clock::now() + seconds{10};
  while (attempts.json()["attempts"].size() < got.size() && std::chrono::steady_clock::now() < deadline)
    attempts = api.get("/v1/endpoints/" + ep["id"].get<std::string>() + "/attempts?limit=1000");
  EXPECT_EQ(attempts.json()["attempts"].size(), got.size());
}

TEST(Webhooks, KillNineMidStreamThenRestartDeliversEveryAcceptedEvent) {
  temp_dir dir;
  receiver_process receiver({"--delay-ms", "2"});
  std::vector<std::string> ids;
  {
    node_process node(dir.path(), fast_retries);
    api_client api(node.url(), node.admin_token());
    create_endpoint(api, {{"url", receiver.url()}, {"topics", {"stream.>"}}});
    ids = publish_many(api, "stream.tick", 1500);
    auto got = receiver.wait_until([](const json& r) { return r.size() >= 100; }, seconds{30});
    ASSERT_GE(got.size(), 100u);
    ASSERT_LT(ids_answered(got).size(), ids.size()) << "the kill should come mid-stream";
    node.kill9();
  }
  node_process restarted(dir.path(), fast_retries);
  const std::set<std::string> accepted(ids.begin(), ids.end());
  auto got = receiver.wait_until([&](const json& r) { return ids_answered(r).size() >= accepted.size(); },
                                 seconds{120});
  EXPECT_EQ(ids_answered(got), accepted);
}

TEST(Webhooks, RetryAfterOn429IsHonoured) {
  temp_dir dir;
  receiver_process receiver({"--status", "429", "--first", "1", "--retry-after", "1"});
  // Retry-After is clamped to the schedule's longest delay (2 s here); the
  // schedule alone would retry after 0.05 s.
  node_process node(dir.path(), {"--allow-private-targets", "--retry-schedule", "0,0.05,2"});
  api_client api(node.url(), node.admin_token());
  create_endpoint(api, {{"url", receiver.url()}, {"topics", {"limited"}}});
  publish_many(api, "limited", 1);
  auto got = receiver.wait_until([](const json& r) { return ids_answered(r).size() == 1; });
  ASSERT_EQ(got.size(), 2u) << got.dump();
  EXPECT_EQ(got[0]["answered"], 429);
  auto gap_us = got[1]["time_us"].get<int64_t>() - got[0]["time_us"].get<int64_t>();
  EXPECT_GE(gap_us, 950000) << "the retry came before Retry-After: 1 passed";
}

TEST(Webhooks, GoneDisablesTheEndpointAndPublishesTheDisabledEvent) {
  temp_dir dir;
  receiver_process receiver({"--status", "410"});
  node_process node(dir.path(), fast_retries);
  api_client api(node.url(), node.admin_token());
  auto ep = create_endpoint(api, {{"url", receiver.url()}, {"topics", {"gone.*"}}});
  auto path = "/v1/endpoints/" + ep["id"].get<std::string>();
  publish_many(api, "gone.one", 3);
  json current;
  auto deadline = std::chrono::steady_clock::now() + seconds{30};
  do
    current = api.get(path).json();
  while (!current["disabled"].get<bool>() && std::chrono::steady_clock::now() < deadline);
  EXPECT_TRUE(current["disabled"].get<bool>());
  EXPECT_NE(current["disabled_reason"].get<std::string>().find("410"), std::string::npos);
  json disabled;
  do
    disabled = api.get("/v1/events?topic=evmesh.endpoint.disabled").json()["events"];
  while (disabled.empty() && std::chrono::steady_clock::now() < deadline);
  ASSERT_EQ(disabled.size(), 1u);
  EXPECT_EQ(disabled[0]["data"]["endpoint_id"], ep["id"]);
  // While disabled nothing is sent, and the event says so.
  auto requests_then = receiver.received()["requests"].size();
  auto later = publish_many(api, "gone.two", 1);
  auto find = api.get("/v1/events/" + later[0]).json();
  ASSERT_EQ(find["deliveries"].size(), 1u) << find.dump();
  EXPECT_EQ(find["deliveries"][0]["state"], "endpoint_disabled");
  EXPECT_EQ(receiver.received()["requests"].size(), requests_then);
}

TEST(Webhooks, AnEndpointFailingLongerThanTheLimitIsDisabled) {
  temp_dir dir;
  receiver_process receiver({"--fail-percent", "100"});
  auto flags = fast_retries;
  flags.insert(flags.end(), {"--webhook-disable-after", "1"});  // the contract's 5 days, shortened
  node_process node(dir.path(), flags);
  api_client api(node.url(), node.admin_token());
  auto ep = create_endpoint(api, {{"url", receiver.url()}, {"topics", {"down.*"}}});
  auto path = "/v1/endpoints/" + ep["id"].get<std::string>();
  publish_many(api, "down.one", 3);
  json current;
  auto deadline = std::chrono::steady_clock::now() + seconds{30};
  do
    current = api.get(path).json();
  while (!current["disabled"].get<bool>() && std::chrono::steady_clock::now() < deadline);
  ASSERT_TRUE(current["disabled"].get<bool>()) << current.dump();
  EXPECT_NE(current["disabled_reason"].get<std::string>().find("no successful delivery"), std::string::npos)
    << current.dump();
  json disabled;
  do
    disabled = api.get("/v1/events?topic=evmesh.endpoint.disabled").json()["events"];
  while (disabled.empty() && std::chrono::steady_clock::now() < deadline);
  ASSERT_EQ(disabled.size(), 1u);
  EXPECT_EQ(disabled[0]["data"]["endpoint_id"], ep["id"]);
  EXPECT_FALSE(receiver.received()["requests"].empty()) << "it was tried before being disabled";
}

TEST(Webhooks, PrivateTargetsAreRefusedWithoutTheFlag) {
  temp_dir dir;
  receiver_process receiver;
  node_process node(dir.path(), {"--retry-schedule", "0,0.02"});
  api_client api(node.url(), node.admin_token());
  auto literal = api.post("/v1/endpoints", {{"url", receiver.url()}, {"topics", {"x"}}});
  EXPECT_EQ(literal.status, 400);
  EXPECT_NE(literal.body.find("loopback"), std::string::npos) << literal.body;
  auto metadata = api.post("/v1/endpoints", {{"url", "http://169.254.169.254/latest"}, {"topics", {"x"}}});
  EXPECT_EQ(metadata.status, 400);
  EXPECT_NE(metadata.body.find("link-local"), std::string::npos) << metadata.body;
  // Special-use names are refused up front, with or without the trailing
  // dot (other names that resolve to loopback are refused when delivering:
  // webhook_client_test, ssrf_guard_test).
  for (const std::string host : {"localhost", "localhost.", "metadata.google.internal."}) {
    auto named = api.post("/v1/endpoints", {{"url", "http://" + host + ":" + std::to_string(receiver.port()) + "/hook"},
                                            {"topics", {"x"}}});
    EXPECT_EQ(named.status, 400) << host << ": " << named.body;
    EXPECT_NE(named.body.find("special-use name"), std::string::npos) << named.body;
  }
  EXPECT_TRUE(receiver.received()["requests"].empty());
}

TEST(Webhooks, RateLimitHolds) {
  temp_dir dir;
  receiver_process receiver;
  node_process node(dir.path(), fast_retries);
  api_client api(node.url(), node.admin_token());
  create_endpoint(api, {{"url", receiver.url()}, {"topics", {"rated"}}, {"rate_limit", 10}});
  publish_many(api, "rated", 40);
  auto got = receiver.wait_until([](const json& r) { return r.size() >= 40; });
  ASSERT_EQ(got.size(), 40u);
  std::vector<int64_t> times;
  for (const auto& r : got)
    times.push_back(r["time_us"].get<int64_t>());
  std::sort(times.begin(), times.end());
  // Burst of 10, then 10 per second: the last comes at least ~3 s after the first.
  EXPECT_GE(times.back() - times.front(), 2700000);
  for (std::size_t i = 0; i + 20 < times.size(); ++i)
    EXPECT_GE(times[i + 20] - times[i], 900000) << "more than 20 requests within one second";
}

TEST(Webhooks, RotationSignsWithBothSecretsAndBothVerify) {
  temp_dir dir;
  auto old_secret = random_secret();
  auto new_secret = random_secret();
  receiver_process receiver({"--secret", old_secret, "--secret", new_secret});
  node_process node(dir.path(), fast_retries);
  api_client api(node.url(), node.admin_token());
  auto ep = create_endpoint(api, {{"url", receiver.url()}, {"topics", {"rotate"}}, {"secret", old_secret}});
  auto rotated = api.post("/v1/endpoints/" + ep["id"].get<std::string>() + "/rotate-secret", {{"secret", new_secret}});
  ASSERT_EQ(rotated.status, 200) << rotated.body;
  EXPECT_EQ(rotated.json()["secret"], new_secret);
  publish_many(api, "rotate", 3);
  auto got = receiver.wait_until([](const json& r) { return r.size() >= 3; });
  ASSERT_EQ(got.size(), 3u);
  for (const auto& r : got) {
    EXPECT_TRUE(r["verified"].get<bool>()) << r.dump();
    EXPECT_NE(r["signatures"].get<std::string>().find(' '), std::string::npos) << "two signatures";
  }
  EXPECT_EQ(verify_independently(json{{"requests", got}}, {old_secret}), "");
  EXPECT_EQ(verify_independently(json{{"requests", got}}, {new_secret}), "");
  EXPECT_NE(verify_independently(json{{"requests", got}}, {random_secret()}), "") << "the verifier can fail";
}

TEST(Webhooks, ReplayRedeliversTheRange) {
  temp_dir dir;
  receiver_process receiver;
  node_process node(dir.path(), fast_retries);
  api_client api(node.url(), node.admin_token());
  auto ep = create_endpoint(api, {{"url", receiver.url()}, {"topics", {"replayed"}}});
  std::vector<uint64_t> seqs;
  json batch = json::array();
  for (int i = 0; i < 5; ++i)
    batch.push_back({{"topic", "replayed"}, {"data", i}});
  auto acks = api.post("/v1/events", batch).json();
  for (const auto& a : acks)
    seqs.push_back(a["seq"]);
  receiver.wait_until([](const json& r) { return r.size() >= 5; });
  auto replay = api.post("/v1/endpoints/" + ep["id"].get<std::string>() + "/replay",
                         {{"since", seqs[1]}, {"until", seqs[3]}});
  ASSERT_EQ(replay.status, 202) << replay.body;
  EXPECT_EQ(replay.json()["queued"], 3);
  auto got = receiver.wait_until([](const json& r) { return r.size() >= 8; });
  ASSERT_EQ(got.size(), 8u);
  std::multiset<std::string> replayed;
  for (std::size_t i = 5; i < got.size(); ++i)
    replayed.insert(got[i]["id"].get<std::string>());
  EXPECT_EQ(replayed, (std::multiset<std::string>{acks[1]["id"], acks[2]["id"], acks[3]["id"]}));
}

TEST(Webhooks, ThousandEndpointsOnOneNode) {
  temp_dir dir;
  receiver_process receiver({"--threads", "2"});
  node_process node(dir.path(), fast_retries);
  api_client api(node.url(), node.admin_token());
  constexpr int endpoints = 1000;
  for (int i = 0; i < endpoints; ++i)
    create_endpoint(api, {{"url", receiver.url("/ep/" + std::to_string(i))}, {"topics", {"bulk.e" + std::to_string(i)}}});
  EXPECT_EQ(api.get("/v1/endpoints").json()["endpoints"].size(), static_cast<std::size_t>(endpoints));
  json batch = json::array();
  for (int i = 0; i < endpoints; ++i)
    batch.push_back({{"topic", "bulk.e" + std::to_string(i)}, {"data", i}});
  ASSERT_EQ(api.post("/v1/events", batch).status, 202);
  auto got = receiver.wait_until([](const json& r) { return r.size() >= endpoints; }, seconds{120});
  std::set<std::string> paths;
  for (const auto& r : got) {
    auto body = json::parse(r["body"].get<std::string>());
    EXPECT_EQ("/ep/" + std::to_string(body["data"].get<int>()), r["path"]) << "delivered to the wrong endpoint";
    paths.insert(r["path"].get<std::string>());
  }
  EXPECT_EQ(paths.size(), static_cast<std::size_t>(endpoints));
}

TEST(Webhooks, EndpointApiValidatesAndManages) {
  temp_dir dir;
  node_process node(dir.path(), {"--allow-private-targets"});
  api_client api(node.url(), node.admin_token());
  for (const auto& [body, needle] : std::vector<std::pair<json, std::string>>{
         {json{{"topics", {"a"}}}, R"(url\" is required)"},
         {json{{"url", "ftp://x"}, {"topics", {"a"}}}, "http://"},
         {json{{"url", "http://example.com"}}, R"(topics\" is required)"},
         {json{{"url", "http://example.com"}, {"topics", {"a..b"}}}, "topics"},
         {json{{"url", "http://example.com"}, {"topics", {"a"}}, {"secret", "nope"}}, "whsec_"},
         {json{{"url", "http://example.com"}, {"topics", {"a"}}, {"headers", {{"webhook-id", "x"}}}}, "cannot be overridden"},
         {json{{"url", "http://example.com"}, {"topics", {"a"}}, {"max_in_flight", 0}}, "max_in_flight"},
         {json{{"url", "http://example.com"}, {"topics", {"a"}}, {"bogus", 1}}, "unknown field"}}) {
    auto r = api.post("/v1/endpoints", body);
    EXPECT_EQ(r.status, 400) << body.dump();
    EXPECT_NE(r.body.find(needle), std::string::npos) << needle << " not in " << r.body;
  }
  auto ep = create_endpoint(api, {{"url", "http://example.com/h"}, {"topics", {"a.*", "b.>"}}, {"description", "d"},
                                  {"headers", {{"X-Team", "payments"}}}, {"max_in_flight", 1}});
  EXPECT_EQ(ep["id"].get<std::string>().rfind("ep_", 0), 0u);
  EXPECT_EQ(ep["secret"].get<std::string>().rfind("whsec_", 0), 0u);
  auto path = "/v1/endpoints/" + ep["id"].get<std::string>();
  auto patched = api.call(boost::beast::http::verb::patch, path, R"({"description":"e","rate_limit":5})").json();
  EXPECT_EQ(patched["description"], "e");
  EXPECT_EQ(patched["rate_limit"], 5);
  EXPECT_EQ(patched["version"], 2);
  EXPECT_FALSE(api.get("/v1/endpoints").json()["endpoints"][0].contains("secret"));
  EXPECT_EQ(api.call(boost::beast::http::verb::delete_, path, "").status, 204);
  EXPECT_EQ(api.get(path).status, 404);
  api_client no_token(node.url(), "");
  EXPECT_EQ(no_token.get("/v1/endpoints").status, 401);
}

TEST(Webhooks, EndpointsCommandLine) {
  temp_dir dir;
  node_process node(dir.path(), {"--allow-private-targets"});
  auto added = run_evmesh({"endpoints", "add", "http://example.com/hook", "--topics", "orders.*,wallet.>",
                           "--url", node.url(), "--token", node.admin_token()});
  ASSERT_EQ(added.exit_code, 0) << added.err;
  auto ep = json::parse(added.out);
  EXPECT_EQ(ep["topics"], json({"orders.*", "wallet.>"}));
  auto listed = run_evmesh({"endpoints", "list", "--url", node.url(), "--token", node.admin_token()});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_NE(listed.out.find(ep["id"].get<std::string>()), std::string::npos) << listed.out << listed.err;
  auto removed = run_evmesh({"endpoints", "rm", ep["id"], "--url", node.url(), "--token", node.admin_token()});
  EXPECT_EQ(removed.exit_code, 0) << removed.err;
  auto again = run_evmesh({"endpoints", "rm", ep["id"], "--url", node.url(), "--token", node.admin_token()});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("no endpoint"), std::string::npos) << again.err;
  auto bad = run_evmesh({"endpoints", "add", "http://example.com", "--url", node.url()});
  EXPECT_EQ(bad.exit_code, 2);
}

} // namespace
} // namespace evmesh::test
