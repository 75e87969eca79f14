// Standard Webhooks signing (https://www.standardwebhooks.com): secrets are
// "whsec_" + base64 of 24..64 random bytes; a signature is
// "v1," + base64(HMAC-SHA256(key, "<webhook-id>.<webhook-timestamp>.<body>")).
// While a rotated secret is still live, both sign and the header carries both
// signatures separated by a space, as the specification allows.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace evmesh {

constexpr std::string_view webhook_secret_prefix = "whsec_";

// A fresh secret: "whsec_" + base64 of 32 random bytes.
std::string make_webhook_secret();

// The key bytes of a secret ("whsec_" + base64 of 24..64 bytes); nullopt and
// `error` set when the text is not such a secret.
std::optional<std::string> webhook_secret_key(std::string_view secret, std::string& error);

// "v1,<base64 HMAC-SHA256 of id.timestamp.body>" under one key (raw bytes).
std::string sign_webhook(std::string_view key, std::string_view id, int64_t timestamp,
                         std::string_view body);

// The webhook-signature header value: one signature per key, space-separated.
std::string webhook_signature_header(const std::vector<std::string>& keys, std::string_view id,
                                     int64_t timestamp, std::string_view body);

} // namespace evmesh
