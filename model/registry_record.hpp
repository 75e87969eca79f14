// A registry record: one token, webhook endpoint, source or bridge as the
// registry stores and replicates it — its kind, id, JSON body and version
// (last writer wins). Each kind's codec (model/endpoint, model/source, …)
// turns its typed record into a body and back.
#pragma once

#include <cstdint>
#include <string>

namespace evmesh {

struct registry_record {
  std::string kind;  // "token", "endpoint", …
  std::string id;
  std::string body;  // JSON; empty for a deletion
  uint64_t version = 0;
  bool replicated = false;  // applied from a peer (not announced again)

  // A deleted record stays as a tombstone (empty body, the version after
  // the last write) so the delete replicates like any write and wins over
  // the older versions a peer may still send.
  bool deleted() const { return body.empty(); }
  registry_record tombstone() const { return {kind, id, {}, version + 1}; }
};

} // namespace evmesh
