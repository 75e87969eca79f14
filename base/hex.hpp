// Hexadecimal digits: percent escapes in URLs (query_string) and hex
// signatures of inbound webhooks (inbound_verifier).
#pragma once

#include <string>
#include <string_view>

namespace evmesh {

// 0..15 for a hex digit of either case, else -1.
int hex_digit_value(char c);

// Bytes from pairs of hex digits (either case); false (and `out`
// unspecified) unless `text` is an even number of hex digits.
bool hex_decode(std::string_view text, std::string& out);

} // namespace evmesh
