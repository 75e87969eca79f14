// The cluster's metric names and help, registered in the node's metrics
// registry (see cluster_probe.hpp).
#include "cluster/cluster_probe.hpp"

namespace evmesh::cluster {

void cluster_probe::register_in(metrics_registry& r, bool clustered) const {
  r.add("cluster_frames_received_total", "Well-formed frames received from peer nodes.", frames_received);
  r.add("cluster_frames_refused_total", "Frames from peers refused as malformed.", frames_refused);
  r.add("cluster_events_received_total", "New events received from peer nodes and stored.", events_received);
  r.add("cluster_events_sent_total", "Events sent to peer nodes (resends included).", events_sent);
  r.add("cluster_link_restarts_total", "Link streams restarted from the peer's cursor.", link_restarts);
  r.add("cluster_peers_refused_total", "Peers refused for not holding the cluster key.", peers_refused);
  r.add("cluster_members_alive", "Other cluster members alive now.", members_alive);
  if (clustered)
    r.add("cluster_member_state", "Each cluster member's state as this node sees it.", metric_type::gauge_type,
          [this] {
            auto snapshot = members.load();
            return snapshot ? *snapshot : std::vector<metric_sample>{};
          });
}

} // namespace evmesh::cluster
