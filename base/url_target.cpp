// See url_target.hpp.
#include "base/url_target.hpp"

#include <algorithm>
#include <cctype>
#include <string_view>

namespace evmesh {
namespace {

bool starts_with_ci(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() &&
         std::equal(prefix.begin(), prefix.end(), text.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
         });
}

} // namespace

std::string url_target::host_header() const {
  auto h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return (port == (tls ? "443" : "80")) ? h : h + ":" + port;
}

url_target parse_url_target(const std::string& url, url_family family, std::string& error) {
  url_target t;
  std::string_view rest{url};
  std::string_view secure = family == url_family::http ? "https://" : "wss://";
  std::string_view plain = family == url_family::http ? "http://" : "ws://";
  if (starts_with_ci(rest, secure)) {
    t.tls = true;
    rest.remove_prefix(secure.size());
  } else if (starts_with_ci(rest, plain)) {
    rest.remove_prefix(plain.size());
  } else {
    error = "the URL must start with " + std::string(plain) + " or " + std::string(secure);
    return t;
  }
  auto authority_end = rest.find_first_of("/?#");
  auto authority = rest.substr(0, authority_end);
  auto path = authority_end == std::string_view::npos ? std::string_view{} : rest.substr(authority_end);
  path = path.substr(0, path.find('#'));
  if (authority.find('@') != std::string_view::npos) {
    error = "credentials in the URL are not supported (use headers)";
    return t;
  }
  std::string_view port;
  bool port_given = false;  // a ':' after the host: then the port may not be empty
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) {
      error = "unterminated IPv6 address in the URL";
      return t;
    }
    t.host = std::string(authority.substr(1, close - 1));
    auto after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') {
      error = "unexpected text after the IPv6 address in the URL";
      return t;
    }
    port_given = !after.empty();
    port = after.empty() ? after : after.substr(1);
  } else {
    auto colon = authority.find(':');
    t.host = std::string(authority.substr(0, colon));
    port_given = colon != std::string_view::npos;
    if (port_given)
      port = authority.substr(colon + 1);
  }
  if (t.host.empty() || t.host.find_first_of(" \t\r\n") != std::string::npos) {
    error = "the URL has no valid host";
    return t;
  }
  if (port.empty() && !port_given) {
    t.port = t.tls ? "443" : "80";
  } else {
    bool digits = port.size() <= 5 && std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; });
    auto value = digits ? std::stoul(std::string(port)) : 0;
    if (value == 0 || value > 65535) {
      error = "the URL has an invalid port";
      return t;
    }
    t.port = std::to_string(value);
  }
  if (path.find_first_of(" \t\r\n") != std::string_view::npos) {
    error = "the URL path must not contain white space";
    return t;
  }
  t.path = path.empty() ? "/" : path.front() == '?' ? "/" + std::string(path) : std::string(path);
  return t;
}

std::string check_http_url(const std::string& url) {
  std::string error;
  parse_url_target(url, url_family::http, error);
  return error;
}

} // namespace evmesh
