// HMAC-SHA256 on OpenSSL and a constant-time comparison: what both the
// outbound webhook signatures (webhook_signature) and the inbound verifiers
// (inbound_verifier) are made of.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

namespace evmesh {

// The 32-byte HMAC-SHA256 of the concatenated `parts` under `key` (raw bytes).
std::string hmac_sha256(std::string_view key, std::initializer_list<std::string_view> parts);

// Whether a and b hold the same bytes; the time taken does not depend on
// where they differ (CRYPTO_memcmp), only on whether the lengths differ.
bool equal_in_constant_time(std::string_view a, std::string_view b);

} // namespace evmesh
