// See hex.hpp.
#include "base/hex.hpp"

namespace evmesh {

int hex_digit_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

bool hex_decode(std::string_view text, std::string& out) {
  if (text.size() % 2 != 0)
    return false;
  out.clear();
  out.reserve(text.size() / 2);
  for (std::size_t i = 0; i < text.size(); i += 2) {
    int hi = hex_digit_value(text[i]), lo = hex_digit_value(text[i + 1]);
    if (hi < 0 || lo < 0)
      return false;
    out += static_cast<char>(hi << 4 | lo);
  }
  return true;
}

} // namespace evmesh
