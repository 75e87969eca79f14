// GET /v1/cluster: the members this node sees, their state, its links to
// them, the patterns it announces, and which live node owns a key
// (?owner_of=KEY, rendezvous over the live members' names).
#pragma once

#include "cluster/messages.hpp"

#include <nlohmann/json.hpp>

namespace evmesh {

nlohmann::json render_cluster(const cluster::cluster_view& view);

} // namespace evmesh
