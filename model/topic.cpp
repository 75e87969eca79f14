// Topic and pattern rules (NATS style), see include/evmesh/topic.hpp.
// Validation names the offending token and position so an HTTP 400 or a CLI
// error can tell the user exactly what to fix; matching walks both strings
// token by token without allocating, since the router calls it on hot paths.
#include <evmesh/topic.hpp>

#include <cstdio>

namespace evmesh {

namespace {

// Walks the dot-separated tokens of a string without allocating.
class token_reader {
public:
  explicit token_reader(std::string_view text) : rest_(text) {}

  bool done() const noexcept { return done_; }

  std::string_view next() noexcept {
    auto dot = rest_.find('.');
    if (dot == std::string_view::npos) {
      done_ = true;
      return rest_;
    }
    auto token = rest_.substr(0, dot);
    rest_.remove_prefix(dot + 1);
    return token;
  }

private:
  std::string_view rest_;
  bool done_ = false;
};

bool is_token_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
         || c == '_' || c == '-';
}

// The input in double quotes, safe to embed in JSON and terminals: printable
// ASCII stays as is, quotes and backslashes are escaped, other bytes are \xNN.
std::string quoted(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte >= 0x20 && byte < 0x7f) {
      out += c;
    } else {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02x", byte);
      out += hex;
    }
  }
  out += '"';
  return out;
}

// The character in single quotes, or its byte value when not printable.
std::string describe_char(char c) {
  auto byte = static_cast<unsigned char>(c);
  char buf[16];
  if (byte > 0x20 && byte < 0x7f && c != '\'')
    std::snprintf(buf, sizeof buf, "character '%c'", c);
  else
    std::snprintf(buf, sizeof buf, "byte 0x%02x", byte);
  return buf;
}

// Shared by check_topic and check_pattern; `kind` is "topic" or "pattern".
std::string check_name(std::string_view text, bool allow_wildcards, const char* kind) {
  if (text.empty())
    return std::string{kind} + " is empty";
  if (text.size() > max_topic_bytes)
    return std::string{kind} + " is " + std::to_string(text.size())
           + " bytes, the limit is " + std::to_string(max_topic_bytes);
  token_reader reader{text};
  for (std::size_t position = 1; !reader.done(); ++position) {
    auto token = reader.next();
    // Built only on the error paths, so checking a valid name allocates nothing.
    auto where = [&] { return "token " + std::to_string(position) + " of " + quoted(text); };
    if (token.empty())
      return where() + " is empty";
    if (token == "*" || token == ">") {
      if (!allow_wildcards)
        return "wildcard \"" + std::string{token} + "\" is only allowed in patterns, not in a topic ("
               + where() + ")";
      if (token == ">" && !reader.done())
        return "\">\" must be the last token (" + where() + ")";
      continue;
    }
    for (char c : token) {
      if (is_token_char(c))
        continue;
      if (allow_wildcards && (c == '*' || c == '>'))
        return std::string{'"', c, '"'} + " must be a whole token (" + where() + " is "
               + quoted(token) + ")";  // (not "\"" + string: g++ 12 -Wrestrict false positive)
      return describe_char(c) + " is not allowed in " + where()
             + "; tokens use only A-Z a-z 0-9 _ -";
    }
  }
  return {};
}

} // namespace

std::string check_topic(std::string_view topic) {
  return check_name(topic, false, "topic");
}

std::string check_pattern(std::string_view pattern) {
  return check_name(pattern, true, "pattern");
}

bool is_valid_topic(std::string_view topic) {
  return check_topic(topic).empty();
}

bool is_valid_pattern(std::string_view pattern) {
  return check_pattern(pattern).empty();
}

bool topic_matches(std::string_view pattern, std::string_view topic) {
  token_reader wanted{pattern};
  token_reader given{topic};
  while (!wanted.done()) {
    auto want = wanted.next();
    if (want == ">")
      return !given.done(); // one or more remaining tokens
    if (given.done())
      return false;
    auto have = given.next();
    if (want != "*" && want != have)
      return false;
  }
  return given.done();
}

bool is_registry_topic(std::string_view topic) {
  return topic.substr(0, registry_topic_prefix.size()) == registry_topic_prefix;
}

} // namespace evmesh
