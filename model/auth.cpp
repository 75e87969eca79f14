// See auth.hpp.
#include "model/auth.hpp"

#include <evmesh/topic.hpp>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <stdexcept>

namespace evmesh {
namespace {

std::vector<std::string_view> split_tokens(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (true) {
    auto dot = s.find('.', start);
    out.push_back(s.substr(start, dot - start));
    if (dot == std::string_view::npos)
      return out;
    start = dot + 1;
  }
}

} // namespace

std::optional<scope> parse_scope(std::string_view text, std::string& error) {
  if (text == "admin")
    return scope{scope::kind::admin, {}};
  auto colon = text.find(':');
  auto verb = text.substr(0, colon);
  scope s;
  if (colon != std::string_view::npos && verb == "publish")
    s.what = scope::kind::publish;
  else if (colon != std::string_view::npos && verb == "subscribe")
    s.what = scope::kind::subscribe;
  else {
    error = "scope \"" + std::string(text) +
            "\" is not one of admin, publish:<pattern>, subscribe:<pattern>";
    return std::nullopt;
  }
  s.pattern = std::string(text.substr(colon + 1));
  if (auto why = check_pattern(s.pattern); !why.empty()) {
    error = "scope \"" + std::string(text) + "\": " + why;
    return std::nullopt;
  }
  return s;
}

std::string to_string(const scope& s) {
  switch (s.what) {
    case scope::kind::admin:
      return "admin";
    case scope::kind::publish:
      return "publish:" + s.pattern;
    case scope::kind::subscribe:
      return "subscribe:" + s.pattern;
  }
  return {};
}

bool pattern_covers(std::string_view covering, std::string_view pattern) {
  auto outer = split_tokens(covering);
  auto inner = split_tokens(pattern);
  for (std::size_t i = 0; i < outer.size(); ++i) {
    if (outer[i] == ">")
      return i < inner.size();  // `>` needs at least one token, and covers any rest
    if (i >= inner.size() || inner[i] == ">")
      return false;
    if (outer[i] == "*")
      continue;
    if (inner[i] != outer[i])
      return false;
  }
  return outer.size() == inner.size();
}

bool is_admin(const scope_list& scopes) {
  for (const auto& s : scopes)
    if (s.what == scope::kind::admin)
      return true;
  return false;
}

bool may_publish(const scope_list& scopes, std::string_view topic) {
  for (const auto& s : scopes)
    if (s.what == scope::kind::admin ||
        (s.what == scope::kind::publish && topic_matches(s.pattern, topic)))
      return true;
  return false;
}

bool may_subscribe(const scope_list& scopes, std::string_view pattern) {
  for (const auto& s : scopes)
    if (s.what == scope::kind::admin ||
        (s.what == scope::kind::subscribe && pattern_covers(s.pattern, pattern)))
      return true;
  return false;
}

std::string make_token() {
  unsigned char bytes[24];
  if (RAND_bytes(bytes, sizeof bytes) != 1)
    throw std::runtime_error("RAND_bytes failed");
  static constexpr char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string token = "evm_";
  for (std::size_t i = 0; i < sizeof bytes; i += 3) {
    uint32_t v = (uint32_t{bytes[i]} << 16) | (uint32_t{bytes[i + 1]} << 8) | bytes[i + 2];
    for (int shift = 18; shift >= 0; shift -= 6)
      token += alphabet[(v >> shift) & 63];
  }
  return token;
}

std::string token_hash(std::string_view token) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(token.data(), token.size(), digest, &length, EVP_sha256(), nullptr);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 15];
  }
  return out;
}

} // namespace evmesh
