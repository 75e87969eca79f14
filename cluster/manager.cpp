// See manager.hpp.
#include "cluster/manager.hpp"

#include "cluster/member_table.hpp"
#include "cluster/registry_sync.hpp"

#include "actors/delivery_messages.hpp"
#include "model/endpoint.hpp"
#include "base/log_line.hpp"

#include <algorithm>
#include <map>
#include <set>

namespace evmesh::cluster {
namespace {

// A user-declared constructor keeps C++20 from treating the state as an
// aggregate that CAF would try to build from the actor pointer.
struct manager_state {
  manager_state() = default;
  manager_setup setup;
  std::unique_ptr<member_table> table;
  std::map<std::string, link_actor> links;        // by address
  std::map<std::string, link_report> reports;     // by address
  listener_actor listener;
  uint64_t interest_version = 0;
  std::vector<std::string> interest;  // announced: local, registry and endpoint patterns
  std::vector<std::string> local_patterns;
  std::map<std::string, std::vector<std::string>> endpoint_patterns;  // enabled endpoints
  std::vector<std::string> live;  // names, as last told to the node
  registry_versions registry;
  static inline const char* name = "evmesh.cluster.manager";
};

using manager_pointer = manager_actor::stateful_pointer<manager_state>;

void announce_interest(manager_pointer self);

void log_change(const manager_state& st, const member_change& c) {
  const auto& m = st.table->members().at(c.addr);
  log_line() << "evmesh: cluster member " << (m.name.empty() ? c.addr : m.name + " (" + c.addr + ")")
             << " is " << to_string(c.to);
}

// One gauge sample per member and state (1 for its current state), the way
// Prometheus exporters show enumerations; the registry escapes the labels.
void publish_member_metrics(manager_state& st) {
  std::vector<metric_sample> samples;
  for (const auto& [addr, m] : st.table->members())
    for (auto state : {member_state::joining, member_state::alive, member_state::suspect,
                       member_state::dead, member_state::left})
      samples.push_back({.labels = {{"name", m.name}, {"addr", addr}, {"state", to_string(state)}},
                         .value = m.state == state ? 1 : 0});
  st.setup.probe->members.store(std::make_shared<const std::vector<metric_sample>>(std::move(samples)));
}

// After any membership change: the metric, and when the live set changed,
// ownership (the delivery manager re-decides every endpoint).
void membership_changed(manager_pointer self) {
  auto& st = self->state;
  int64_t alive = 0;
  for (const auto& [addr, m] : st.table->members())
    alive += m.state == member_state::alive ? 1 : 0;
  st.setup.probe->members_alive.store(alive, std::memory_order_relaxed);
  publish_member_metrics(st);
  auto live = st.table->live_names(st.setup.name);
  std::sort(live.begin(), live.end());
  if (live == st.live)
    return;
  st.live = live;
  if (st.setup.live_changed)
    st.setup.live_changed(live);
  if (!st.setup.delivery_manager)
    return;
  self->request(st.setup.controller, caf::infinite, ep_list_atom::value)
    .then([self](const std::vector<endpoint_config>& endpoints) {
            for (const auto& ep : endpoints)
              caf::anon_send(self->state.setup.delivery_manager, ep_update_atom::value, ep);
          },
          [](caf::error&) {});
}

void tell_members(manager_state& st) {
  auto addrs = st.table->addresses();
  addrs.push_back(st.setup.addr);
  for (const auto& [addr, link] : st.links)
    caf::anon_send(link, members_atom::value, addrs);
}

void dial(manager_pointer self, const std::string& addr) {
  auto& st = self->state;
  if (!st.table->learn(addr) || st.links.count(addr))
    return;
  auto setup = st.setup.link_template;
  setup.peer_addr = addr;
  setup.manager = caf::actor_cast<manager_actor>(self);
  auto link = spawn_link(self->system(), std::move(setup));
  self->link_to(link);  // the links go down with the manager
  st.links[addr] = link;
  tell_members(st);
}

void on_heard(manager_pointer self, member_report& report) {
  auto& st = self->state;
  if (report.addr == st.setup.addr)
    return;
  dial(self, report.addr);
  bool restarted = false;
  for (const auto& change : st.table->heard(report.addr, report.name, report.incarnation,
                                            now_us(), restarted))
    log_change(st, change);
  if (restarted) {
    log_line() << "evmesh: cluster member " << report.name << " restarted";
    if (auto it = st.links.find(report.addr); it != st.links.end())
      caf::anon_send(it->second, hello_atom::value);
  }
  for (const auto& addr : report.members)
    if (addr != st.setup.addr)
      dial(self, addr);
  membership_changed(self);
}

// A record written here: announce it to every node.
// Keeps an endpoint record's patterns for the interest (enabled ones only).
void note_endpoint(manager_pointer self, const registry_record& record) {
  if (record.kind != "endpoint")
    return;
  auto& st = self->state;
  if (record.deleted()) {
    st.endpoint_patterns.erase(record.id);
    return announce_interest(self);
  }
  try {
    auto ep = endpoint_from_record(record);
    if (ep.disabled)
      st.endpoint_patterns.erase(ep.id);
    else
      st.endpoint_patterns[ep.id] = ep.topics;
  } catch (const std::exception&) {
    return;
  }
  announce_interest(self);
}

void announce(manager_pointer self, const registry_record& record) {
  auto& st = self->state;
  st.registry.remember(record);
  note_endpoint(self, record);
  std::vector<event> events{registry_event(record)};
  caf::anon_send(st.setup.publisher, publish_atom::value, std::move(events),
                 publish_callback{[kind = record.kind, id = record.id](publish_reply reply) {
                   if (!reply.error.empty())
                     log_line() << "evmesh: announcing " << kind << " " << id
                                << " to the cluster failed: " << reply.error;
                 }});
}

// A record from a peer: store and apply it if it wins.
void adopt(manager_pointer self, const event_ptr& e) {
  auto& st = self->state;
  std::string error;
  auto record = registry_record_of(*e, error);
  if (!record) {
    log_line() << "evmesh: ignoring a registry event from " << e->origin << ": " << error;
    return;
  }
  if (!st.registry.supersedes(*record))
    return;
  st.registry.remember(*record);
  note_endpoint(self, *record);
  self->request(st.setup.writer, caf::infinite, put_rec_atom::value, *record)
    .then([self, r = *record](bool stored) {
            if (stored)
              caf::anon_send(self->state.setup.controller, put_rec_atom::value, r);
          },
          [](caf::error&) {});
}

// Announces local patterns, the registry and every enabled endpoint's patterns.
void announce_interest(manager_pointer self) {
  auto& st = self->state;
  std::set<std::string> all(st.local_patterns.begin(), st.local_patterns.end());
  all.insert(registry_pattern);
  for (const auto& [id, patterns] : st.endpoint_patterns)
    all.insert(patterns.begin(), patterns.end());
  std::vector<std::string> interest(all.begin(), all.end());
  if (interest == st.interest)
    return;
  st.interest = std::move(interest);
  ++st.interest_version;
  if (st.listener)
    caf::anon_send(st.listener, interest_atom::value, st.interest_version, st.interest);
}

cluster_view make_view(const manager_state& st) {
  cluster_view view;
  view.name = st.setup.name;
  view.addr = st.setup.addr;
  view.incarnation = st.setup.incarnation;
  auto now = now_us();
  for (const auto& [addr, m] : st.table->members()) {
    cluster_view::peer p;
    p.addr = addr;
    p.name = m.name;
    p.state = to_string(m.state);
    p.incarnation = m.incarnation;
    p.last_heard_ms_ago = m.last_heard_us ? (now - m.last_heard_us) / 1000 : -1;
    if (auto it = st.reports.find(addr); it != st.reports.end())
      p.link = it->second;
    view.members.push_back(std::move(p));
  }
  view.interest = st.interest;
  view.live_names = st.table->live_names(st.setup.name);
  return view;
}

manager_actor::behavior_type manager(manager_pointer self, manager_setup setup) {
  auto& st = self->state;
  st.setup = std::move(setup);
  st.table = std::make_unique<member_table>(
    st.setup.addr, std::chrono::duration_cast<std::chrono::microseconds>(st.setup.suspect_after).count(),
    std::chrono::duration_cast<std::chrono::microseconds>(st.setup.dead_after).count());
  for (const auto& record : st.setup.records) {
    st.registry.remember(record);
    note_endpoint(self, record);
  }
  st.setup.records.clear();
  announce_interest(self);
  membership_changed(self);
  for (const auto& seed : st.setup.seeds)
    if (seed != st.setup.addr)
      dial(self, seed);
  self->delayed_send(self, st.setup.heartbeat, tick_atom::value);
  return {
    [self](heard_atom, member_report& report) { on_heard(self, report); },
    [self](bye_atom, const std::string& addr, uint64_t incarnation) {
      for (const auto& change : self->state.table->left(addr, incarnation))
        log_change(self->state, change);
      membership_changed(self);
    },
    [self](link_atom, link_report& report) {
      self->state.reports[report.addr] = std::move(report);
    },
    [self](tick_atom) {
      auto& state = self->state;
      for (const auto& change : state.table->tick(now_us()))
        log_change(state, change);
      membership_changed(self);
      self->delayed_send(self, state.setup.heartbeat, tick_atom::value);
    },
    [self](listener_atom, listener_actor& listener) {
      self->state.listener = std::move(listener);
      caf::anon_send(self->state.listener, interest_atom::value, self->state.interest_version,
                     self->state.interest);
    },
    [self](interest_atom, std::vector<std::string>& patterns) {
      self->state.local_patterns = std::move(patterns);
      announce_interest(self);
    },
    [self](put_rec_atom, const registry_record& record) { announce(self, record); },
    [self](put_rec_atom, const event_ptr& e) { adopt(self, e); },
    [self](cluster_atom) { return make_view(self->state); },
  };
}

} // namespace

manager_actor spawn_manager(caf::actor_system& sys, manager_setup setup) {
  return sys.spawn(manager, std::move(setup));
}

} // namespace evmesh::cluster
