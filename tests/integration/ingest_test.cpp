// Inbound webhooks on one real node: sources are created over the API and
// third parties' requests, signed by independent code (the reference
// `standardwebhooks` npm package, the openssl CLI), are verified, published
// on the right topic (fixed, from a header, from a JSON field) once per
// delivery id, and refused with 401 and a reason when forged, stale, signed
// with the wrong secret or missing headers; bad source definitions get 400,
// unknown sources 404, oversized bodies 413, and /metrics counts it all.
#include "support/api_client.hpp"
#include "support/cluster_helpers.hpp"
#include "support/independent_signers.hpp"
#include "support/node_process.hpp"

#include <gtest/gtest.h>

namespace evmesh::test {
namespace {

using nlohmann::json;
namespace bhttp = boost::beast::http;

api_response ingest(const node_process& n, const std::string& source, const std::string& body,
                    std::map<std::string, std::string> headers) {
  headers.emplace("Content-Type", "application/json");
  return api_client(n.url(), "").call(bhttp::verb::post, "/v1/ingest/" + source, body, headers);
}

json history(api_client& api, const std::string& pattern) {
  auto r = api.get("/v1/events?topic=" + pattern);
  EXPECT_EQ(r.status, 200) << r.body;
  return r.json()["events"];
}

uint64_t ingest_count(api_client& api, const std::string& source, const std::string& result) {
  auto body = api.get("/metrics").body;
  auto sample = "evmesh_ingest_requests_total{source=\"" + source + "\",result=\"" + result + "\"} ";
  auto pos = body.find(sample);
  return pos == std::string::npos ? 0 : std::stoull(body.substr(pos + sample.size()));
}

std::string detail(const api_response& r) { return r.json().value("detail", ""); }

TEST(Ingest, StandardWebhooksSenderIsVerifiedPublishedOnceAndForgeriesAreRefused) {
  temp_dir dir;
  node_process node(dir.path());
  api_client api(node.url(), node.admin_token());
  auto created = api.post("/v1/sources", {{"name", "partner"},
                                          {"topic", "partner.events"},
                                          {"verifier", {{"type", "standard_webhooks"}}}});
  ASSERT_EQ(created.status, 201) << created.body;
  auto secret = created.json()["verifier"]["secret"].get<std::string>();
  ASSERT_EQ(secret.rfind("whsec_", 0), 0u) << "a generated secret is returned once";
  EXPECT_EQ(created.json()["ingest_path"], "/v1/ingest/partner");
  auto read = api.get("/v1/sources/partner").json();
  EXPECT_NE(read["verifier"]["secret"], secret) << "GET masks the secret";
  EXPECT_EQ(read["verifier"]["secret"].get<std::string>().find(secret.substr(6, 10)), std::string::npos);
  EXPECT_EQ(api.get("/v1/sources").json()["sources"].size(), 1u);

  std::string body = R"({"type":"invoice.paid","amount":42})";
  auto now = unix_now();
  auto headers = standard_webhooks_headers(secret, "msg_1", now, body);
  auto accepted = ingest(node, "partner", body, headers);
  ASSERT_EQ(accepted.status, 202) << accepted.body;
  EXPECT_EQ(accepted.json()["id"], "partner:msg_1");
  EXPECT_FALSE(accepted.json().contains("duplicate"));

  // The sender retries the same delivery: accepted, not published twice.
  auto again = ingest(node, "partner", body, headers);
  ASSERT_EQ(again.status, 202) << again.body;
  EXPECT_EQ(again.json()["duplicate"], true);
  EXPECT_EQ(again.json()["seq"], accepted.json()["seq"]);
  auto events = history(api, "partner.>");
  ASSERT_EQ(events.size(), 1u) << events.dump();
  EXPECT_EQ(events[0]["topic"], "partner.events");
  EXPECT_EQ(events[0]["data"], json::parse(body));
  EXPECT_EQ(events[0]["headers"]["webhook-id"], "msg_1");
  EXPECT_EQ(events[0]["headers"]["evmesh-source"], "partner");
  EXPECT_EQ(events[0]["headers"]["content-type"], "application/json");

  // Forged body, wrong secret, stale and future timestamps, missing headers.
  auto forged = ingest(node, "partner", R"({"type":"invoice.paid","amount":4200})", headers);
  EXPECT_EQ(forged.status, 401);
  EXPECT_NE(detail(forged).find("no signature"), std::string::npos) << forged.body;
  EXPECT_EQ(forged.headers[bhttp::field::content_type], "application/problem+json");
  auto other_secret = "whsec_" + std::string("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  auto wrong = ingest(node, "partner", body, standard_webhooks_headers(other_secret, "msg_2", now, body));
  EXPECT_EQ(wrong.status, 401) << wrong.body;
  auto stale = ingest(node, "partner", body, standard_webhooks_headers(secret, "msg_3", now - 600, body));
  EXPECT_EQ(stale.status, 401);
  EXPECT_NE(detail(stale).find("s old"), std::string::npos) << stale.body;
  auto future = ingest(node, "partner", body, standard_webhooks_headers(secret, "msg_4", now + 600, body));
  EXPECT_EQ(future.status, 401);
  EXPECT_NE(detail(future).find("in the future"), std::string::npos) << future.body;
  for (const char* name : {"webhook-id", "webhook-timestamp", "webhook-signature"}) {
    auto partial = headers;
    partial.erase(name);
    auto missing = ingest(node, "partner", body, partial);
    EXPECT_EQ(missing.status, 401) << name;
    EXPECT_NE(detail(missing).find(name), std::string::npos) << missing.body;
  }
  EXPECT_EQ(history(api, "partner.>").size(), 1u) << "nothing refused was published";

  auto unknown = ingest(node, "nobody", body, headers);
  EXPECT_EQ(unknown.status, 404);
  EXPECT_NE(detail(unknown).find("nobody"), std::string::npos);
  EXPECT_EQ(api_client(node.url(), "").get("/v1/ingest/partner").status, 405);

  EXPECT_EQ(ingest_count(api, "partner", "accepted"), 1u);
  EXPECT_EQ(ingest_count(api, "partner", "duplicate"), 1u);
  EXPECT_EQ(ingest_count(api, "partner", "rejected_signature"), 5u);
  EXPECT_EQ(ingest_count(api, "partner", "rejected_stale"), 2u);
  EXPECT_EQ(metric(node, "evmesh_ingest_unknown_source_total"), 1u);
}

TEST(Ingest, GitHubTopicFromHeaderAndDeliveryIdDedup) {
  temp_dir dir;
  node_process node(dir.path());
  api_client api(node.url(), node.admin_token());
  const std::string secret = "It's a Secret to Everybody";
  auto created = api.post("/v1/sources", {{"name", "gh"},
                                          {"topic", {{"header", "X-GitHub-Event"}, {"prefix", "github."}}},
                                          {"verifier", {{"type", "github"}, {"secret", secret}}}});
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.json()["verifier"]["secret"], secret);

  std::string body = R"({"ref":"refs/heads/main","commits":[]})";
  std::map<std::string, std::string> headers{{"X-GitHub-Event", "push"},
                                             {"X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"},
                                             {"X-Hub-Signature-256", "sha256=" + openssl_hmac_hex(secret, body)}};
  auto accepted = ingest(node, "gh", body, headers);
  ASSERT_EQ(accepted.status, 202) << accepted.body;
  EXPECT_EQ(accepted.json()["id"], "gh:72d3162e-cc78-11e3-81ab-4c9367dc0958");
  EXPECT_EQ(ingest(node, "gh", body, headers).json().value("duplicate", false), true);
  auto events = history(api, "github.>");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["topic"], "github.push");
  EXPECT_EQ(events[0]["headers"]["x-github-event"], "push");
  EXPECT_EQ(events[0]["headers"]["x-github-delivery"], "72d3162e-cc78-11e3-81ab-4c9367dc0958");

  auto forged = headers;
  forged["X-Hub-Signature-256"] = "sha256=" + openssl_hmac_hex("not the secret", body);
  EXPECT_EQ(ingest(node, "gh", body, forged).status, 401);
  forged["X-Hub-Signature-256"] = "sha1=" + openssl_hmac_hex(secret, body);
  auto malformed = ingest(node, "gh", body, forged);
  EXPECT_EQ(malformed.status, 401);
  EXPECT_NE(detail(malformed).find("sha256="), std::string::npos) << malformed.body;
  // Authentic, but the header that names the topic is missing or no topic.
  auto no_event = headers;
  no_event.erase("X-GitHub-Event");
  no_event["X-GitHub-Delivery"] = "other";
  auto no_topic = ingest(node, "gh", body, no_event);
  EXPECT_EQ(no_topic.status, 400);
  EXPECT_NE(detail(no_topic).find("X-GitHub-Event"), std::string::npos) << no_topic.body;
  no_event["X-GitHub-Event"] = "bad topic!";
  EXPECT_EQ(ingest(node, "gh", body, no_event).status, 400);
  EXPECT_EQ(ingest_count(api, "gh", "rejected_invalid"), 2u);
}

TEST(Ingest, StripeTopicFromJsonFieldWithTimestampTolerance) {
  temp_dir dir;
  node_process node(dir.path());
  api_client api(node.url(), node.admin_token());
  const std::string secret = "whsec_stripe_signing_secret_for_tests";
  ASSERT_EQ(api.post("/v1/sources", {{"name", "stripe"},
                                     {"topic", {{"field", "type"}, {"prefix", "stripe."}}},
                                     {"verifier", {{"type", "stripe"}, {"secret", secret}}}})
              .status,
            201);
  std::string body = R"({"id":"evt_1NG8Du2eZvKYlo2CUI79vXWy","type":"payment_intent.succeeded","data":{}})";
  auto sign = [&](int64_t t) {
    return std::map<std::string, std::string>{
      {"Stripe-Signature", "t=" + std::to_string(t) + ",v1=" + openssl_hmac_hex(secret, std::to_string(t) + "." + body)}};
  };
  auto accepted = ingest(node, "stripe", body, sign(unix_now()));
  ASSERT_EQ(accepted.status, 202) << accepted.body;
  EXPECT_EQ(accepted.json()["id"], "stripe:evt_1NG8Du2eZvKYlo2CUI79vXWy");
  auto events = history(api, "stripe.>");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["topic"], "stripe.payment_intent.succeeded");
  EXPECT_EQ(ingest(node, "stripe", body, sign(unix_now())).json().value("duplicate", false), true)
    << "a resend (new timestamp, same event id) is a duplicate";
  auto stale = ingest(node, "stripe", body, sign(unix_now() - 301 - 5));
  EXPECT_EQ(stale.status, 401);
  EXPECT_NE(detail(stale).find("old"), std::string::npos) << stale.body;
  EXPECT_EQ(ingest(node, "stripe", body, {}).status, 401);
}

TEST(Ingest, GenericHmacAndNoneVerifiers) {
  temp_dir dir;
  node_process node(dir.path());
  api_client api(node.url(), node.admin_token());
  ASSERT_EQ(api.post("/v1/sources", {{"name", "shop"},
                                     {"topic", "shop.order"},
                                     {"id_header", "X-Delivery"},
                                     {"verifier",
                                      {{"type", "hmac_sha256"}, {"secret", "shop-key"}, {"header", "X-Shop-Hmac"},
                                       {"encoding", "hex"}, {"prefix", "sha256="}}}})
              .status,
            201);
  std::string body = R"({"order":7})";
  auto ok = ingest(node, "shop", body,
                   {{"X-Shop-Hmac", "sha256=" + openssl_hmac_hex("shop-key", body)}, {"X-Delivery", "d-1"}});
  ASSERT_EQ(ok.status, 202) << ok.body;
  EXPECT_EQ(ok.json()["id"], "shop:d-1");
  EXPECT_EQ(ingest(node, "shop", body, {{"X-Shop-Hmac", openssl_hmac_hex("shop-key", body)}}).status, 401);

  // none: anyone may publish; a body that is not JSON is kept as bytes.
  ASSERT_EQ(api.post("/v1/sources", {{"name", "open"}, {"topic", "open.form"}, {"verifier", {{"type", "none"}}}}).status,
            201);
  auto form = ingest(node, "open", "a=1&b=2", {{"Content-Type", "application/x-www-form-urlencoded"}});
  ASSERT_EQ(form.status, 202) << form.body;
  auto events = history(api, "open.>");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["data_base64"], "YT0xJmI9Mg==");
  EXPECT_EQ(events[0]["headers"]["content-type"], "application/x-www-form-urlencoded");
}

TEST(Ingest, BadSourceDefinitionsGet400WithAClearDetail) {
  temp_dir dir;
  node_process node(dir.path());
  api_client api(node.url(), node.admin_token());
  json sw{{"type", "standard_webhooks"}};
  std::vector<std::pair<json, std::string>> cases = {
    {{{"topic", "a.b"}, {"verifier", sw}}, "\"name\" is required"},
    {{{"name", "x"}, {"verifier", sw}}, "\"topic\" is required"},
    {{{"name", "x"}, {"topic", "a.b"}}, "\"verifier\" is required"},
    {{{"name", "has space"}, {"topic", "a.b"}, {"verifier", sw}}, "\"name\" must be"},
    {{{"name", std::string(65, 'n')}, {"topic", "a.b"}, {"verifier", sw}}, "\"name\" must be"},
    {{{"name", "x"}, {"topic", "a..b"}, {"verifier", sw}}, "\"topic\""},
    {{{"name", "x"}, {"topic", "orders.*"}, {"verifier", sw}}, "\"topic\""},
    {{{"name", "x"}, {"topic", "evmesh.registry.token"}, {"verifier", sw}}, "reserved"},
    {{{"name", "x"}, {"topic", {{"header", "X-E"}, {"field", "type"}}}, {"verifier", sw}}, "\"topic\" must be"},
    {{{"name", "x"}, {"topic", {{"header", "bad header"}}}, {"verifier", sw}}, "not a valid header name"},
    {{{"name", "x"}, {"topic", {{"field", "a..b"}}}, {"verifier", sw}}, "\"topic\".\"field\""},
    {{{"name", "x"}, {"topic", {{"field", "t"}, {"prefix", "bad prefix"}}}, {"verifier", sw}}, "\"prefix\""},
    {{{"name", "x"}, {"topic", "a.b"}, {"verifier", {{"type", "rot13"}}}}, "\"verifier\".\"type\" must be"},
    {{{"name", "x"}, {"topic", "a.b"}, {"verifier", {{"type", "standard_webhooks"}, {"secret", "nope"}}}}, "whsec_"},
    {{{"name", "x"}, {"topic", "a.b"}, {"verifier", {{"type", "stripe"}}}}, "required for stripe"},
    {{{"name", "x"}, {"topic", "a.b"}, {"verifier", {{"type", "hmac_sha256"}, {"secret", "k"}}}}, "\"header\""},
    {{{"name", "x"}, {"topic", "a.b"}, {"verifier", {{"type", "hmac_sha256"}, {"header", "X-S"}, {"encoding", "rot"}}}},
     "\"encoding\""},
    {{{"name", "x"}, {"topic", "a.b"}, {"verifier", {{"type", "github"}, {"header", "X-S"}}}}, "does not apply"},
    {{{"name", "x"}, {"topic", "a.b"}, {"verifier", sw}, {"id_header", "X-Id"}}, "\"id_header\" applies only"},
    {{{"name", "x"}, {"topic", "a.b"}, {"verifier", sw}, {"colour", "red"}}, "unknown field \"colour\""},
    {json::array(), "JSON object"},
  };
  for (const auto& [body, want] : cases) {
    auto r = api.post("/v1/sources", body);
    EXPECT_EQ(r.status, 400) << body.dump() << " → " << r.body;
    if (r.status == 400)
      EXPECT_NE(detail(r).find(want), std::string::npos) << body.dump() << " → " << detail(r);
  }
  auto not_json = api.call(bhttp::verb::post, "/v1/sources", "{nope");
  EXPECT_EQ(not_json.status, 400);
  EXPECT_TRUE(api.get("/v1/sources").json()["sources"].empty()) << "nothing half-made was kept";

  // Admin only; names are unique; patch and delete.
  EXPECT_EQ(api_client(node.url(), "").get("/v1/sources").status, 401);
  auto publisher = api.post("/v1/tokens", {{"scopes", {"publish:>"}}}).json()["token"].get<std::string>();
  EXPECT_EQ(api_client(node.url(), publisher).get("/v1/sources").status, 403);
  json good{{"name", "x"}, {"topic", "a.b"}, {"verifier", sw}};
  ASSERT_EQ(api.post("/v1/sources", good).status, 201);
  EXPECT_EQ(api.post("/v1/sources", good).status, 409);
  auto patched = api.call(bhttp::verb::patch, "/v1/sources/x", json{{"topic", "a.c"}}.dump());
  ASSERT_EQ(patched.status, 200) << patched.body;
  EXPECT_EQ(patched.json()["topic"], "a.c");
  EXPECT_EQ(patched.json()["version"], 2);
  EXPECT_EQ(api.call(bhttp::verb::patch, "/v1/sources/x", json{{"name", "y"}}.dump()).status, 400);
  EXPECT_EQ(api.call(bhttp::verb::delete_, "/v1/sources/x", "").status, 204);
  EXPECT_EQ(api.get("/v1/sources/x").status, 404);
  EXPECT_EQ(ingest(node, "x", "{}", {}).status, 404) << "a deleted source accepts nothing";
  EXPECT_EQ(api.post("/v1/sources", good).status, 201) << "the name is free again";
}

TEST(Ingest, OversizedBodiesGet413AndMalformedSignaturesNeverCrash) {
  temp_dir dir;
  node_process node(dir.path(), {"--max-body", "4096"});
  api_client api(node.url(), node.admin_token());
  auto created = api.post("/v1/sources", {{"name", "p"}, {"topic", "p.e"}, {"verifier", {{"type", "standard_webhooks"}}}});
  ASSERT_EQ(created.status, 201);
  auto big = ingest(node, "p", "\"" + std::string(5000, 'x') + "\"", {});
  EXPECT_EQ(big.status, 413);

  std::vector<std::string> shapes = {"", " ", "v1", "v1,", "v1,!!!!", "v2,abc", std::string(3000, ','),
                                     "v1," + std::string(44, 'A'), "v1,AAAA v1,BBBB", "t=1,v1=00"};
  auto now = std::to_string(unix_now());
  for (const auto& shape : shapes)
    for (const auto& timestamp : {now, std::string("abc"), std::string("-1"), std::string(40, '9')}) {
      auto r = ingest(node, "p", "{}", {{"webhook-id", "m"}, {"webhook-timestamp", timestamp}, {"webhook-signature", shape}});
      EXPECT_EQ(r.status, 401) << "\"" << shape << "\" at " << timestamp;
    }
  EXPECT_EQ(api.get("/healthz").status, 200);
}

} // namespace
} // namespace evmesh::test
