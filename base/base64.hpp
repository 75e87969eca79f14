// Standard base64 (RFC 4648, with padding) on OpenSSL's EVP block coders:
// binary event data in JSON (`data_base64`), and later webhook signatures.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace evmesh {

std::string base64_encode(std::string_view bytes);
// nullopt when `text` is not valid padded base64.
std::optional<std::string> base64_decode(std::string_view text);

} // namespace evmesh
