// Field rules the admin API's registry records share (webhook endpoints,
// bridges): a non-empty list of topic patterns, a map of extra HTTP headers
// (valid names, no line breaks, none of the ones evmesh sets itself), and the
// early refusal of a URL whose host is an IP literal the SSRF guard refuses.
// Each returns empty when fine, else what is wrong, naming the field.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace evmesh {

// A non-empty JSON array of valid patterns, duplicates dropped.
std::string read_patterns(const nlohmann::json& v, const std::string& field, std::vector<std::string>& out);

// A JSON object of header name → value; `reserved` gets the lower-cased name
// and says whether evmesh sets that header itself.
std::string read_headers(const nlohmann::json& v, const std::function<bool(const std::string&)>& reserved,
                         std::map<std::string, std::string>& out);

// "unknown field \"x\"" for the first member of `body` not in `known`.
std::string unknown_field(const nlohmann::json& body, const std::vector<std::string>& known);

// A string of at most 1024 bytes.
std::string read_description(const nlohmann::json& v, std::string& out);

// Refuses a webhook or bridge URL (http(s)://, ws(s)://, read by
// base/url_target) whose host is an IP literal that the SSRF guard would
// refuse, or a special-use name (localhost, *.internal, ...; trailing dot
// or not); other names are checked when connecting.
std::string refuse_literal_host(const std::string& url, bool allow_private);

} // namespace evmesh
