// Bearer tokens and their scopes. A token is "evm_" + 32 base64url chars of
// randomness; the node keeps only its SHA-256, never the token itself.
// Scopes: "admin" (everything), "publish:<pattern>", "subscribe:<pattern>".
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace evmesh {

struct scope {
  enum class kind { admin, publish, subscribe } what = kind::admin;
  std::string pattern;  // for publish and subscribe
};

// Parses "admin", "publish:orders.*", "subscribe:>"; nullopt and `error` set
// when the text is not a scope or its pattern is invalid.
std::optional<scope> parse_scope(std::string_view text, std::string& error);
std::string to_string(const scope& s);

// Whether `covering` matches every topic that `pattern` matches (both valid).
bool pattern_covers(std::string_view covering, std::string_view pattern);

using scope_list = std::vector<scope>;
bool is_admin(const scope_list& scopes);
bool may_publish(const scope_list& scopes, std::string_view topic);
bool may_subscribe(const scope_list& scopes, std::string_view pattern);

std::string make_token();
std::string token_hash(std::string_view token);  // lowercase hex SHA-256

// token hash → scopes; an immutable snapshot, replaced whole on change.
using auth_table = std::unordered_map<std::string, scope_list>;
using auth_table_ptr = std::shared_ptr<const auth_table>;

} // namespace evmesh
