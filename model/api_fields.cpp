// See api_fields.hpp.
#include "model/api_fields.hpp"

#include "base/ssrf_guard.hpp"
#include "base/url_target.hpp"

#include <evmesh/topic.hpp>

#include <algorithm>
#include <cctype>

namespace evmesh {
namespace {

bool is_token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

} // namespace

std::string read_patterns(const nlohmann::json& v, const std::string& field, std::vector<std::string>& out) {
  if (!v.is_array() || v.empty())
    return "\"" + field + "\" must be a non-empty array of patterns";
  std::vector<std::string> patterns;
  for (const auto& p : v) {
    if (!p.is_string())
      return "every entry of \"" + field + "\" must be a string";
    if (auto why = check_pattern(p.get<std::string>()); !why.empty())
      return "\"" + field + "\": " + why;
    if (std::find(patterns.begin(), patterns.end(), p.get<std::string>()) == patterns.end())
      patterns.push_back(p.get<std::string>());
  }
  out = std::move(patterns);
  return {};
}

std::string read_headers(const nlohmann::json& v, const std::function<bool(const std::string&)>& reserved,
                         std::map<std::string, std::string>& out) {
  if (!v.is_object())
    return "\"headers\" must be an object of strings";
  std::map<std::string, std::string> headers;
  for (const auto& [name, value] : v.items()) {
    if (name.empty() || !std::all_of(name.begin(), name.end(), is_token_char))
      return "\"headers\": \"" + name + "\" is not a valid header name";
    std::string lower = name;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    if (reserved(lower))
      return "\"headers\": \"" + name + "\" is set by evmesh and cannot be overridden";
    if (!value.is_string())
      return "\"headers\": the value of \"" + name + "\" must be a string";
    auto text = value.get<std::string>();
    if (text.find_first_of("\r\n") != std::string::npos || text.find('\0') != std::string::npos)
      return "\"headers\": the value of \"" + name + "\" must not contain line breaks";
    headers[name] = std::move(text);
  }
  out = std::move(headers);
  return {};
}

std::string unknown_field(const nlohmann::json& body, const std::vector<std::string>& known) {
  for (const auto& [key, value] : body.items())
    if (std::find(known.begin(), known.end(), key) == known.end())
      return "unknown field \"" + key + "\"";
  return {};
}

std::string read_description(const nlohmann::json& v, std::string& out) {
  if (!v.is_string() || v.get<std::string>().size() > 1024)
    return "\"description\" must be a string of at most 1024 bytes";
  out = v.get<std::string>();
  return {};
}

std::string refuse_literal_host(const std::string& url, bool allow_private) {
  std::string error;
  auto target = parse_url_target(url, url_family::http, error);
  if (!error.empty())
    target = parse_url_target(url, url_family::websocket, error);
  auto address = literal_address(target.host);
  return address ? refuse_target_address(*address, allow_private) : refuse_target_name(target.host, allow_private);
}

} // namespace evmesh
