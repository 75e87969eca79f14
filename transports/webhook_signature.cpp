// See webhook_signature.hpp. HMAC and randomness come from OpenSSL.
#include "transports/webhook_signature.hpp"

#include "transports/base64.hpp"

#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
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
  std::string prefix = std::string(id) + "." + std::to_string(timestamp) + ".";
  unsigned char mac[EVP_MAX_MD_SIZE];
  std::size_t mac_size = 0;
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0), OSSL_PARAM_construct_end()};
  EVP_MAC* hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  EVP_MAC_CTX* ctx = hmac ? EVP_MAC_CTX_new(hmac) : nullptr;
  bool ok = ctx &&
            EVP_MAC_init(ctx, reinterpret_cast<const unsigned char*>(key.data()), key.size(), params) == 1 &&
            EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(prefix.data()), prefix.size()) == 1 &&
            EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(body.data()), body.size()) == 1 &&
            EVP_MAC_final(ctx, mac, &mac_size, sizeof mac) == 1;
  EVP_MAC_CTX_free(ctx);
  EVP_MAC_free(hmac);
  if (!ok)
    throw std::runtime_error("HMAC-SHA256 failed");
  return "v1," + base64_encode(std::string_view(reinterpret_cast<const char*>(mac), mac_size));
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
