// A webhook endpoint as the registry keeps it (registry_record kind
// "endpoint", body JSON, replicated by the cluster with the record's
// version): URL, topic patterns, secrets (the current one first; a rotated
// one stays live until it expires), description, rate limit, extra headers,
// disabled flag and reason, in-flight window. Also the rules for the API's
// create and patch bodies and the JSON the API answers with.
#pragma once

#include "model/registry_record.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace evmesh {

constexpr uint32_t default_max_in_flight = 4;
constexpr uint32_t max_max_in_flight = 64;
constexpr int64_t rotated_secret_lifetime_us = int64_t{24} * 3600 * 1000 * 1000;

struct endpoint_secret {
  std::string secret;      // "whsec_..."
  int64_t expires_us = 0;  // 0: current (never expires)
};

struct endpoint_config {
  std::string id;  // "ep_" + ULID
  std::string url;
  std::vector<std::string> topics;
  std::vector<endpoint_secret> secrets;  // current first
  std::string description;
  double rate_limit = 0;  // attempts per second; 0: unlimited
  std::map<std::string, std::string> headers;
  bool disabled = false;
  std::string disabled_reason;
  uint32_t max_in_flight = default_max_in_flight;  // 1: FIFO, one at a time
  int64_t created_us = 0;
  int64_t updated_us = 0;
  uint64_t version = 0;
};

std::string make_endpoint_id();

// Applies the fields of an API body (create: `url` and `topics` required;
// patch: any subset) to `ep`; empty when fine, else what is wrong (then `ep`
// may be half changed: apply to a copy). `allow_private_targets` decides
// whether a URL whose host is a private IP literal is refused here already.
std::string apply_endpoint_fields(endpoint_config& ep, const nlohmann::json& body, bool create,
                                  bool allow_private_targets);

// Secrets still live at `now` (current first) and the keys they decode to.
std::vector<std::string> live_secret_keys(const endpoint_config& ep, int64_t now);
// Drops expired rotated secrets; true if any went.
bool drop_expired_secrets(endpoint_config& ep, int64_t now);

registry_record to_record(const endpoint_config& ep);
// Throws std::exception on an unreadable body.
endpoint_config endpoint_from_record(const registry_record& record);

// The API's view; the secret only when `with_secret`.
nlohmann::json render_endpoint(const endpoint_config& ep, bool with_secret);

} // namespace evmesh
