// The registry (tokens, and the webhook endpoints and sources that later
// issues keep there) replicated through the mesh itself: a record written on
// a node is published there as an event on `evmesh.registry.<kind>`, which
// every node wants, so the links carry it (durably, in order, resent after
// a partition or a restart) and each node applies it last-writer-wins:
// higher version, then the larger body on a tie, so every node converges on
// the same record whatever order the events arrive in. A delete is a
// tombstone one version up (empty body: it loses a tie with a concurrent
// change, so a change made at the same time as a delete survives it).
#pragma once

#include "store/store.hpp"

#include <evmesh/event.hpp>

#include <map>
#include <optional>
#include <string>

namespace evmesh::cluster {

// The pattern every node announces so registry events reach it.
inline const std::string registry_pattern = "evmesh.registry.>";

// The event that carries a record (id unique per record version).
event registry_event(const registry_record& record);

// The record an event carries; nullopt and `error` when it is malformed.
std::optional<registry_record> registry_record_of(const event& e, std::string& error);

// What each node keeps to decide which record wins.
class registry_versions {
public:
  void remember(const registry_record& record);
  // Whether `record` replaces what is known of (kind, id).
  bool supersedes(const registry_record& record) const;

private:
  struct known {
    uint64_t version = 0;
    std::string body;
  };
  std::map<std::pair<std::string, std::string>, known> known_;
};

} // namespace evmesh::cluster
