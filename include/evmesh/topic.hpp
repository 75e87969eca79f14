// Topic names and subscription patterns (NATS rules).
// A topic is dot-separated tokens, each [A-Za-z0-9_-]+, at most 255 bytes.
// A pattern may also use `*` (exactly one token) and `>` (one or more
// trailing tokens, last position only).
#pragma once

#include <string>
#include <string_view>

namespace evmesh {

constexpr std::size_t max_topic_bytes = 255;

// Empty string when valid, else a sentence saying what is wrong
// (e.g. "token 2 of \"orders..x\" is empty").
std::string check_topic(std::string_view topic);
std::string check_pattern(std::string_view pattern);

bool is_valid_topic(std::string_view topic);
bool is_valid_pattern(std::string_view pattern);

// Whether a valid topic matches a valid pattern.
bool topic_matches(std::string_view pattern, std::string_view topic);

// Topics under this prefix carry the cluster's replicated registry (tokens,
// endpoints): only nodes publish them, and no subscription or history
// query sees them.
constexpr std::string_view registry_topic_prefix = "evmesh.registry.";
bool is_registry_topic(std::string_view topic);

} // namespace evmesh
