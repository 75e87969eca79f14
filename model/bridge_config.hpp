// A WebSocket bridge as the registry keeps it (registry_record kind
// "bridge", body JSON, replicated by the cluster with the record's version):
// the external ws:// or wss:// URL, the direction — inbound (what the server
// sends is published on `topic`, after sending the `subscribe` messages on
// every connect) or outbound (events matching `topics` are sent to the
// server) — extra upgrade headers (often an API key: never logged, masked
// in the API), a description and the disabled flag. A deleted bridge is a
// tombstone record (registry_record::deleted), so the deletion replicates
// like any change. Also the rules for the API's create and patch bodies and the JSON
// the API answers with.
#pragma once

#include "model/registry_record.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace evmesh {

constexpr const char* bridge_record_kind = "bridge";
constexpr std::size_t max_bridge_subscribe_messages = 64;

enum class bridge_direction { inbound, outbound };

struct bridge_config {
  std::string id;  // "br_" + ULID
  std::string url;
  bridge_direction direction = bridge_direction::inbound;
  std::string topic;                    // inbound: where messages are published
  std::vector<std::string> subscribe;   // inbound: sent after every connect, in order
  std::vector<std::string> topics;      // outbound: patterns forwarded
  std::map<std::string, std::string> headers;  // sent with the upgrade request
  std::string description;
  bool disabled = false;
  bool deleted = false;
  int64_t created_us = 0;
  int64_t updated_us = 0;
  uint64_t version = 0;
};

const char* to_string(bridge_direction d);

std::string make_bridge_id();

// Applies the fields of an API body (create: `url`, `direction` and the
// direction's `topic` or `topics` required; patch: any subset, the direction
// fixed) to `br`; empty when fine, else what is wrong (then `br` may be half
// changed: apply to a copy).
std::string apply_bridge_fields(bridge_config& br, const nlohmann::json& body, bool create,
                                bool allow_private_targets);

registry_record to_record(const bridge_config& br);
// Throws std::exception on an unreadable body.
bridge_config bridge_from_record(const registry_record& record);

// The API's view of the definition; header values are masked.
nlohmann::json render_bridge(const bridge_config& br);

} // namespace evmesh
