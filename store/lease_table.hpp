// Leases on delivering webhook endpoints, for a shared store (PostgreSQL):
// any node may deliver any endpoint, but only the one holding its lease
// does, so per-endpoint order and the in-flight window hold across the
// cluster. A lease lasts a fixed time unless renewed; a node that dies
// stops renewing, and within that time another node claims it. Every claim
// by a new holder raises the lease's fence, and delivery progress is saved
// only with the fence it was made under (delivery_store::save), so a node
// that lost its lease without noticing (paused, cut off) cannot overwrite
// its successor's progress.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace evmesh {

struct lease_request {
  std::vector<std::string> claim;           // take when free or expired; renew when ours
  std::vector<std::string> claim_orphans;   // take only when expired for a whole lease more (nobody claims it)
  std::map<std::string, uint64_t> release;  // give up (ours, by fence), so another node may take it at once
  bool release_all = false;                 // give up every lease this node holds (it is stopping)
};

class lease_table {
public:
  virtual ~lease_table() = default;
  // Releases, then claims; answers what this node holds now (endpoint id →
  // fence) among those it asked for. Throws when the store cannot be
  // reached (the leases then lapse by themselves).
  virtual std::map<std::string, uint64_t> round(const lease_request& request) = 0;
};

} // namespace evmesh
