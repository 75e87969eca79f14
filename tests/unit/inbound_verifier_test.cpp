// The inbound signature schemes against published vectors (the Standard
// Webhooks specification's example, GitHub's documented example) and vectors
// computed with the openssl CLI (`openssl dgst -sha256 -hmac`), plus
// malformed headers of many shapes: each is refused, none crashes.
#include "base/base64.hpp"
#include "base/inbound_verifier.hpp"

#include <gtest/gtest.h>

#include <random>

namespace evmesh::inbound {
namespace {

namespace bhttp = boost::beast::http;

// Standard Webhooks' example: secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw.
const std::string sw_key = *base64_decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
const std::string sw_body = R"({"test": 2432232314})";
constexpr int64_t sw_time = 1614265330;
const std::string sw_signature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

bhttp::fields sw_headers(const std::string& signature, int64_t time = sw_time,
                         const std::string& id = "msg_p5jXN8AQM9LWM0D4loKWxJek") {
  bhttp::fields h;
  h.set("webhook-id", id);
  h.set("webhook-timestamp", std::to_string(time));
  h.set("webhook-signature", signature);
  return h;
}

verdict sw_verify(const bhttp::fields& h, int64_t now = sw_time) {
  return verify(make_verifier(scheme::standard_webhooks, sw_key), h, sw_body, now);
}

TEST(InboundVerifier, StandardWebhooksSpecExampleIsAccepted) {
  EXPECT_TRUE(sw_verify(sw_headers(sw_signature)).accepted());
  // Any one of several space-separated signatures (and other versions) may match.
  EXPECT_TRUE(sw_verify(sw_headers("v2,abc v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= " + sw_signature)).accepted());
}

TEST(InboundVerifier, StandardWebhooksRefusesTamperingAndStaleTimes) {
  auto forged = sw_verify(sw_headers("v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="));
  EXPECT_EQ(forged.why, rejection::bad_signature);
  EXPECT_EQ(sw_verify(sw_headers(sw_signature, sw_time, "msg_other")).why, rejection::bad_signature);
  EXPECT_EQ(sw_verify(sw_headers(sw_signature, sw_time + 1)).why, rejection::bad_signature);
  auto old = sw_verify(sw_headers(sw_signature), sw_time + 301);
  EXPECT_EQ(old.why, rejection::stale_timestamp);
  EXPECT_NE(old.detail.find("301 s old"), std::string::npos) << old.detail;
  auto future = sw_verify(sw_headers(sw_signature), sw_time - 301);
  EXPECT_EQ(future.why, rejection::stale_timestamp);
  EXPECT_NE(future.detail.find("in the future"), std::string::npos) << future.detail;
  EXPECT_TRUE(sw_verify(sw_headers(sw_signature), sw_time + 300).accepted());
  EXPECT_TRUE(sw_verify(sw_headers(sw_signature), sw_time - 300).accepted());
}

TEST(InboundVerifier, StandardWebhooksNamesTheMissingHeader) {
  for (const char* name : {"webhook-id", "webhook-timestamp", "webhook-signature"}) {
    auto h = sw_headers(sw_signature);
    h.erase(name);
    auto v = sw_verify(h);
    EXPECT_EQ(v.why, rejection::missing_header) << name;
    EXPECT_NE(v.detail.find(name), std::string::npos) << v.detail;
  }
}

TEST(InboundVerifier, GitHubDocumentedExample) {
  auto v = make_verifier(scheme::github, "It's a Secret to Everybody");
  bhttp::fields h;
  h.set("X-Hub-Signature-256", "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
  EXPECT_TRUE(verify(v, h, "Hello, World!", 0).accepted());
  EXPECT_EQ(verify(v, h, "Hello, World?", 0).why, rejection::bad_signature);
  h.set("X-Hub-Signature-256", "sha256=757107EA0EB2509FC211221CCE984B8A37570B6D7586C22C46F4379C8B043E17");
  EXPECT_TRUE(verify(v, h, "Hello, World!", 0).accepted()) << "hex digits in either case";
  EXPECT_EQ(verify(make_verifier(scheme::github, "wrong"), h, "Hello, World!", 0).why, rejection::bad_signature);
  h.set("X-Hub-Signature-256", "sha1=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
  EXPECT_EQ(verify(v, h, "Hello, World!", 0).why, rejection::malformed_header);
  EXPECT_EQ(verify(v, bhttp::fields{}, "Hello, World!", 0).why, rejection::missing_header);
}

// printf '%s' '1700000000.{"id":"evt_1","type":"payment_intent.succeeded"}' |
//   openssl dgst -sha256 -hmac whsec_stripe_test_secret
const std::string stripe_body = R"({"id":"evt_1","type":"payment_intent.succeeded"})";
const std::string stripe_mac = "e59021b31c5352689b4ae9ae2c627b00ad461d2b5cc1aeb30e33c9616fd307f1";

verdict stripe_verify(const std::string& header, int64_t now = 1700000000) {
  bhttp::fields h;
  h.set("Stripe-Signature", header);
  return verify(make_verifier(scheme::stripe, "whsec_stripe_test_secret"), h, stripe_body, now);
}

TEST(InboundVerifier, StripeSignature) {
  EXPECT_TRUE(stripe_verify("t=1700000000,v1=" + stripe_mac).accepted());
  EXPECT_TRUE(stripe_verify("t=1700000000,v1=" + std::string(64, '0') + ",v1=" + stripe_mac + ",v0=ff").accepted());
  EXPECT_EQ(stripe_verify("t=1700000001,v1=" + stripe_mac).why, rejection::bad_signature);
  EXPECT_EQ(stripe_verify("t=1700000000,v1=" + stripe_mac, 1700000000 + 301).why, rejection::stale_timestamp);
  EXPECT_EQ(stripe_verify("t=1700000000,v1=" + stripe_mac, 1700000000 - 301).why, rejection::stale_timestamp);
  EXPECT_EQ(stripe_verify("v1=" + stripe_mac).why, rejection::malformed_header);
  EXPECT_EQ(stripe_verify("t=1700000000,v0=" + stripe_mac).why, rejection::malformed_header);
}

TEST(InboundVerifier, GenericHmacHexAndBase64WithPrefix) {
  // printf '%s' payload | openssl dgst -sha256 -hmac generic-key -binary | base64
  auto b64 = make_verifier(scheme::hmac_sha256, "generic-key", "X-Signature", encoding::base64, "hmac=");
  bhttp::fields h;
  h.set("X-Signature", "hmac=j+2S3zUKHGDhpRwD/ceQIsilDtlrmduhAOzHjs9gpzo=");
  EXPECT_TRUE(verify(b64, h, "payload", 0).accepted());
  h.set("X-Signature", "j+2S3zUKHGDhpRwD/ceQIsilDtlrmduhAOzHjs9gpzo=");
  EXPECT_EQ(verify(b64, h, "payload", 0).why, rejection::malformed_header) << "prefix missing";
  auto hex = make_verifier(scheme::hmac_sha256, "generic-key", "X-Signature", encoding::hex, "");
  h.set("X-Signature", "8fed92df350a1c60e1a51c03fdc79022c8a50ed96b99dba100ecc78ecf60a73a");
  EXPECT_TRUE(verify(hex, h, "payload", 0).accepted());
  EXPECT_EQ(verify(hex, h, "payloaD", 0).why, rejection::bad_signature);
}

TEST(InboundVerifier, NoneAcceptsEverything) {
  EXPECT_TRUE(verify(make_verifier(scheme::none, ""), bhttp::fields{}, "anything", 0).accepted());
}

// Fuzz-ish: header values of many shapes (random bytes, truncations and
// mutations of a valid one, separators only) never crash and never pass.
TEST(InboundVerifier, MalformedHeadersAreRefusedWithoutCrashing) {
  std::mt19937 rng(7);
  std::vector<std::string> shapes = {"", " ", ",", "=", "v1", "v1,", "v1, ", "  v1,  ", "t=", "t=,v1=", "t=-5,v1=ab",
                                     "sha256=", "sha256=zz", "sha256=" + std::string(63, 'a'), "v1,====",
                                     "t=99999999999999999999999,v1=" + stripe_mac, std::string(5000, ','),
                                     std::string(3000, ' ') + "v1,"};
  std::string valid = sw_signature;
  for (std::size_t cut = 0; cut < valid.size(); ++cut)
    shapes.push_back(valid.substr(0, cut));
  for (int i = 0; i < 500; ++i) {
    std::string s = valid;
    s[rng() % s.size()] = static_cast<char>(0x20 + rng() % 0x5f);
    shapes.push_back(s);
    std::string noise(rng() % 120, '\0');
    for (auto& c : noise)
      c = static_cast<char>(0x21 + rng() % 0x5e);
    shapes.push_back(noise);
  }
  const std::vector<verifier> verifiers = {
    make_verifier(scheme::standard_webhooks, sw_key), make_verifier(scheme::github, "k"),
    make_verifier(scheme::stripe, "k"), make_verifier(scheme::hmac_sha256, "k", "X-Sig", encoding::base64, "p=")};
  for (const auto& shape : shapes) {
    if (shape == valid)
      continue;
    for (const char* name : {"webhook-signature", "webhook-timestamp", "X-Hub-Signature-256", "Stripe-Signature", "X-Sig"}) {
      auto h = sw_headers(sw_signature);
      h.set(name, shape);
      for (const auto& v : verifiers) {
        if (v.kind == scheme::standard_webhooks && std::string_view(name).substr(0, 8) != "webhook-")
          continue;  // not a header this scheme reads: the valid request stays valid
        auto result = verify(v, h, sw_body, sw_time);
        EXPECT_FALSE(result.accepted()) << scheme_name(v.kind) << " " << name << ": \"" << shape << "\"";
        EXPECT_FALSE(result.detail.empty());
      }
    }
  }
}

} // namespace
} // namespace evmesh::inbound
