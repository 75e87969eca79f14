// See webhook_signature.hpp. HMAC (base/hmac) and randomness come from OpenSSL.
#include "base/webhook_signature.hpp"

#include "base/base64.hpp"
#include "base/hmac.hpp"

#include <openssl/rand.h>

#include <stdexcept>

namespace evmesh {

std::string make_webhook_secret() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1)
    throw std::runtime_error("RAND_bytes failed");
  return std::string(webhook_secret_prefix) +
         base64_encode(std::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes));
}

std::optional<std::string> webhook_secret_key(std::string_view secret, std::string& error) {
  if (secret.substr(0, webhook_secret_prefix.size()) != webhook_secret_prefix) {
    error = "a secret must start with \"whsec_\"";
    return std::nullopt;
  }
  auto key = base64_decode(secret.substr(webhook_secret_prefix.size()));
  if (!key) {
    error = "the part after \"whsec_\" must be padded base64";
    return std::nullopt;
  }
  if (key->size() < 24 || key->size() > 64) {
    error = "a secret must encode 24 to 64 bytes, this one has " + std::to_string(key->size());
    return std::nullopt;
  }
  return key;
}

std::string sign_webhook(std::string_view key, std::string_view id, int64_t timestamp,
                         std::string_view body) {
  auto time = std::to_string(timestamp);
  return "v1," + base64_encode(hmac_sha256(key, {id, ".", time, ".", body}));
}

std::string webhook_signature_header(const std::vector<std::string>& keys, std::string_view id,
                                     int64_t timestamp, std::string_view body) {
  std::string out;
  for (const auto& key : keys) {
    if (!out.empty())
      out += ' ';
    out += sign_webhook(key, id, timestamp, body);
  }
  return out;
}

} // namespace evmesh
