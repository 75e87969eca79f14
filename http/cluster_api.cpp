// See cluster_api.hpp.
#include "http/cluster_api.hpp"

namespace evmesh {

nlohmann::json render_cluster(const cluster::cluster_view& view) {
  using nlohmann::json;
  json members = json::array();
  for (const auto& m : view.members) {
    json link = {{"connected", m.link.connected}, {"epoch", m.link.epoch},
                 {"acked_seq", m.link.acked},     {"sent_seq", m.link.covered},
                 {"frames_in_flight", m.link.in_flight},
                 {"events_queued", m.link.queued}, {"frames_sent", m.link.frames_sent},
                 {"events_sent", m.link.events_sent}, {"restarts", m.link.restarts},
                 {"interest", m.link.interest}};
    members.push_back({{"name", m.name},
                       {"addr", m.addr},
                       {"state", m.state},
                       {"incarnation", m.incarnation},
                       {"last_heard_ms_ago", m.last_heard_ms_ago},
                       {"link", std::move(link)}});
  }
  return {{"self", {{"name", view.name}, {"addr", view.addr}, {"incarnation", view.incarnation}}},
          {"members", std::move(members)},
          {"interest", view.interest},
          {"live", view.live_names}};
}

} // namespace evmesh
