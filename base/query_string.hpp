// Splits a request target into its path and decoded query parameters
// ("/v1/events?topic=orders.%2A&since=5").
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace evmesh {

struct request_target {
  std::string path;                          // percent-decoded
  std::map<std::string, std::string> query;  // later duplicates win
};

// nullopt when a percent escape is malformed.
std::optional<request_target> parse_target(std::string_view target);
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space);

} // namespace evmesh
