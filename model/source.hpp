// An inbound webhook source as the registry keeps it (registry_record kind
// "source", id = the source's name, body JSON, replicated by the cluster
// with the record's version like endpoints): the name used in the ingest URL
// POST /v1/ingest/{name}, where the topic comes from (fixed, or a prefix
// plus a request header or a string field of the JSON body), and the
// verifier with its secret. A deletion is stored and replicated as a
// tombstone (registry_record::deleted), so every node stops accepting; the
// controller keeps it, so a name created again continues its version.
// Also the rules for the API's create and patch bodies and the JSON the API
// answers with (the secret only when it was just set; otherwise masked).
#pragma once

#include "model/registry_record.hpp"
#include "base/inbound_verifier.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

namespace evmesh {

constexpr std::size_t max_source_name_bytes = 64;

struct source_config {
  std::string name;  // [A-Za-z0-9_-]{1,64}
  // Exactly one of: a fixed topic, a header, a JSON body field (dotted path).
  std::string topic;
  std::string topic_header;
  std::string topic_field;
  std::string topic_prefix;  // before the header's or field's value
  inbound::scheme verifier = inbound::scheme::none;
  std::string secret;
  std::string signature_header;  // hmac_sha256
  inbound::encoding signature_encoding = inbound::encoding::hex;
  std::string signature_prefix;  // hmac_sha256
  std::string id_header;         // hmac_sha256 and none: the sender's delivery id
  std::string description;
  bool deleted = false;  // a tombstone: only name and version are set
  int64_t created_us = 0;
  int64_t updated_us = 0;
  uint64_t version = 0;
};

// Applies the fields of an API body (create: `name`, `topic` and `verifier`
// required; patch: any subset but `name`) to `source`; empty when fine, else
// what is wrong (apply to a copy). A verifier without a secret gets a
// generated one, except stripe, whose secret Stripe issues.
std::string apply_source_fields(source_config& source, const nlohmann::json& body, bool create);

registry_record to_record(const source_config& source);
// Throws std::exception on an unreadable body.
source_config source_from_record(const registry_record& record);

// The API's view; the secret in full only when `with_secret`, else masked.
nlohmann::json render_source(const source_config& source, bool with_secret);

// What the ingest edge reads on every request: each live source with its
// verifier ready (secret decoded), as an immutable snapshot the controller
// replaces on every change (like the auth table).
struct live_source {
  source_config config;
  inbound::verifier verifier;
};
using source_table = std::unordered_map<std::string, live_source>;
using source_table_ptr = std::shared_ptr<const source_table>;

live_source make_live_source(const source_config& source);

} // namespace evmesh
