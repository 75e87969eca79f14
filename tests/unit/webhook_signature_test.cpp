// Standard Webhooks signing: the specification's published test vector, the
// secret format, and two live secrets giving two signatures.
#include "base/base64.hpp"
#include "base/webhook_signature.hpp"

#include <gtest/gtest.h>

namespace evmesh {
namespace {

// From the Standard Webhooks specification (spec/standard-webhooks.md and
// every reference library's tests).
constexpr const char* spec_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr const char* spec_id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
constexpr int64_t spec_timestamp = 1614265330;
constexpr const char* spec_body = R"({"test": 2432232314})";
constexpr const char* spec_signature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

TEST(WebhookSignature, ReproducesTheSpecificationTestVector) {
  std::string error;
  auto key = webhook_secret_key(spec_secret, error);
  ASSERT_TRUE(key) << error;
  EXPECT_EQ(sign_webhook(*key, spec_id, spec_timestamp, spec_body), spec_signature);
}

TEST(WebhookSignature, AnyChangeChangesTheSignature) {
  std::string error;
  auto key = *webhook_secret_key(spec_secret, error);
  EXPECT_NE(sign_webhook(key, spec_id, spec_timestamp + 1, spec_body), spec_signature);
  EXPECT_NE(sign_webhook(key, "msg_other", spec_timestamp, spec_body), spec_signature);
  EXPECT_NE(sign_webhook(key, spec_id, spec_timestamp, R"({"test": 2432232315})"), spec_signature);
}

TEST(WebhookSignature, TwoLiveSecretsGiveTwoSpaceSeparatedSignatures) {
  std::string error;
  auto first = *webhook_secret_key(spec_secret, error);
  auto second = *webhook_secret_key(make_webhook_secret(), error);
  auto header = webhook_signature_header({first, second}, spec_id, spec_timestamp, spec_body);
  auto space = header.find(' ');
  ASSERT_NE(space, std::string::npos);
  EXPECT_EQ(header.substr(0, space), spec_signature);
  EXPECT_EQ(header.substr(space + 1), sign_webhook(second, spec_id, spec_timestamp, spec_body));
}

TEST(WebhookSignature, GeneratedSecretsAreValidAndDistinct) {
  auto a = make_webhook_secret();
  auto b = make_webhook_secret();
  EXPECT_NE(a, b);
  EXPECT_EQ(a.rfind("whsec_", 0), 0u);
  std::string error;
  auto key = webhook_secret_key(a, error);
  ASSERT_TRUE(key) << error;
  EXPECT_EQ(key->size(), 32u);
}

TEST(WebhookSignature, MalformedSecretsAreRefusedWithAReason) {
  std::string error;
  EXPECT_FALSE(webhook_secret_key("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", error));
  EXPECT_NE(error.find("whsec_"), std::string::npos);
  EXPECT_FALSE(webhook_secret_key("whsec_not base64!", error));
  EXPECT_NE(error.find("base64"), std::string::npos);
  EXPECT_FALSE(webhook_secret_key("whsec_" + base64_encode("short"), error));
  EXPECT_NE(error.find("24 to 64"), std::string::npos);
  EXPECT_FALSE(webhook_secret_key("whsec_" + base64_encode(std::string(65, 'x')), error));
}

} // namespace
} // namespace evmesh
