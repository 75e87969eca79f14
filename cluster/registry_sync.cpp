// See registry_sync.hpp.
#include "cluster/registry_sync.hpp"

#include <evmesh/topic.hpp>

#include <nlohmann/json.hpp>

namespace evmesh::cluster {

event registry_event(const registry_record& record) {
  event e;
  e.topic = std::string(registry_topic_prefix) + record.kind;
  e.id = "registry." + record.kind + "." + record.id + "." + std::to_string(record.version);
  e.data = nlohmann::json{{"kind", record.kind}, {"id", record.id}, {"body", record.body},
                          {"version", record.version}}
             .dump();
  return e;
}

std::optional<registry_record> registry_record_of(const event& e, std::string& error) {
  try {
    auto j = nlohmann::json::parse(e.data);
    registry_record r{j.at("kind").get<std::string>(), j.at("id").get<std::string>(),
                      j.at("body").get<std::string>(), j.at("version").get<uint64_t>(), true};
    if (e.topic != std::string(registry_topic_prefix) + r.kind || r.id.empty()) {
      error = "registry event on " + e.topic + " names kind \"" + r.kind + "\"";
      return std::nullopt;
    }
    return r;
  } catch (const std::exception& ex) {
    error = std::string("malformed registry event: ") + ex.what();
    return std::nullopt;
  }
}

void registry_versions::remember(const registry_record& record) {
  known_[{record.kind, record.id}] = {record.version, record.body};
}

bool registry_versions::supersedes(const registry_record& record) const {
  auto it = known_.find({record.kind, record.id});
  if (it == known_.end())
    return true;
  const auto& k = it->second;
  return record.version > k.version || (record.version == k.version && record.body > k.body);
}

} // namespace evmesh::cluster
