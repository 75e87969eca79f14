// The cluster's probe: frames and events exchanged with peers, refused
// peers, and the members as the manager last saw them. Counters are relaxed
// atomics bumped by the listener and the peer links; the member samples are
// an immutable snapshot the manager actor publishes on every membership
// change, so a scrape reads no actor state. Registered in the node's one
// metrics registry (base/metrics_registry.hpp), which renders GET /metrics.
#pragma once

#include "base/metrics_registry.hpp"

#include <atomic>
#include <memory>
#include <vector>

namespace evmesh::cluster {

struct cluster_probe {
  counter frames_received{0};   // frames from peers, well-formed
  counter frames_refused{0};    // frames from peers that failed to decode
  counter events_received{0};   // events from peers stored here (new)
  counter events_sent{0};       // events sent to peers (resends included)
  counter link_restarts{0};     // link streams restarted (gap, reconnect, timeout)
  counter peers_refused{0};     // CURVE handshakes refused (wrong cluster key)
  gauge members_alive{0};
  // evmesh_cluster_member_state's samples (one per member and state, 1 for
  // its current one), published by the manager.
  std::atomic<std::shared_ptr<const std::vector<metric_sample>>> members;

  // `clustered`: whether the member family shows (a node running alone has
  // no members to show).
  void register_in(metrics_registry& registry, bool clustered) const;
};

} // namespace evmesh::cluster
