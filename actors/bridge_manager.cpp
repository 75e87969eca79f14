// See bridge_manager.hpp.
#include "actors/bridge_manager.hpp"

#include "base/log_line.hpp"

#include <nlohmann/json.hpp>

#include <map>

namespace evmesh {
namespace {

using json = nlohmann::json;

const std::vector<std::string> bridge_states{"connecting", "connected", "backing_off", "disabled", "not_owner"};

struct running_bridge {
  caf::actor actor;
  uint64_t version = 0;  // of the definition it runs
  bridge_status status;
};

// A user-declared constructor keeps C++20 from treating the state as an
// aggregate that CAF would try to build from the actor pointer.
struct bridge_manager_state {
  bridge_manager_state() = default;
  ~bridge_manager_state() {
    for (const auto& [id, run] : running)
      caf::anon_send_exit(run.actor, caf::exit_reason::user_shutdown);
  }
  bridge_manager_setup setup;
  controller_actor controller;  // null until told: no bridge runs before
  std::map<std::string, bridge_config> bridges;  // tombstones included
  std::map<std::string, running_bridge> running;
  static inline const char* name = "evmesh.bridge_manager";

  const bridge_config* find(const std::string& id) const {
    auto it = bridges.find(id);
    return it == bridges.end() || it->second.deleted ? nullptr : &it->second;
  }
};

using manager_pointer = caf::stateful_actor<bridge_manager_state>*;

bridge_reply problem(int status, std::string detail) { return {status, std::move(detail), {}}; }

std::string state_of(const bridge_manager_state& st, const bridge_config& br) {
  if (br.disabled)
    return "disabled";
  auto it = st.running.find(br.id);
  if (it == st.running.end())
    return "not_owner";
  return it->second.status.state.empty() ? "connecting" : it->second.status.state;
}

std::string time_or_empty(int64_t us) { return us ? format_rfc3339(us) : std::string{}; }

json render_view(const bridge_manager_state& st, const bridge_config& br) {
  auto out = render_bridge(br);
  out["state"] = state_of(st, br);
  out["owner"] = st.setup.owner_of(br.id);
  bridge_status status;
  if (auto it = st.running.find(br.id); it != st.running.end())
    status = it->second.status;
  out["last_error"] = status.last_error.empty() ? json(nullptr) : json(status.last_error);
  out["last_error_at"] = status.last_error_us ? json(format_rfc3339(status.last_error_us)) : json(nullptr);
  out["last_connected"] = status.last_connected_us ? json(format_rfc3339(status.last_connected_us)) : json(nullptr);
  if (status.state == "backing_off")
    out["next_attempt"] = time_or_empty(status.next_attempt_us);
  out["connects"] = status.connects;
  out["messages_in"] = status.messages_in;
  out["messages_out"] = status.messages_out;
  out["errors"] = status.errors;
  if (br.direction == bridge_direction::inbound) {
    out["published"] = status.published;
  } else {
    out["queued"] = status.queued;
    out["resumes"] = status.resumes;
  }
  return out;
}

// The bridges' metric families for one scrape, from the statuses the bridge
// actors reported (read in this actor, so nothing else touches its state).
std::vector<metric_family> bridge_metrics(const bridge_manager_state& st) {
  struct family {
    const char* name;
    metric_type type;
    const char* help;
    uint64_t bridge_status::*field;
  };
  static const family families[] = {
    {"bridge_connects_total", metric_type::counter_type, "Connections a bridge opened to its server.",
     &bridge_status::connects},
    {"bridge_messages_received_total", metric_type::counter_type, "Messages a bridge received from its server.",
     &bridge_status::messages_in},
    {"bridge_messages_sent_total", metric_type::counter_type, "Messages a bridge wrote to its server.",
     &bridge_status::messages_out},
    {"bridge_events_published_total", metric_type::counter_type, "Events an inbound bridge published (durable).",
     &bridge_status::published},
    {"bridge_errors_total", metric_type::counter_type, "Failed connections, drops and failed publishes of a bridge.",
     &bridge_status::errors},
    {"bridge_resumes_total", metric_type::counter_type, "Times an outbound bridge caught up from retained history.",
     &bridge_status::resumes},
    {"bridge_queued", metric_type::gauge_type, "Events an outbound bridge holds for its server.",
     &bridge_status::queued},
  };
  auto labels = [](const bridge_config& br) {
    return metric_labels{{"bridge", br.id}, {"direction", to_string(br.direction)}};
  };
  std::vector<metric_family> out;
  auto& state = out.emplace_back(metric_family{.name = "bridge_state",
                                               .help = "Each bridge's state on this node (1 for the current one).",
                                               .type = metric_type::gauge_type,
                                               .samples = {}});
  for (const auto& [id, br] : st.bridges) {
    if (br.deleted)
      continue;
    auto current = state_of(st, br);
    for (const auto& s : bridge_states) {
      auto l = labels(br);
      l.emplace_back("state", s);
      state.samples.push_back({.labels = std::move(l), .value = s == current ? 1 : 0});
    }
  }
  for (const auto& f : families) {
    metric_family made{.name = f.name, .help = f.help, .type = f.type, .samples = {}};
    for (const auto& [id, run] : st.running)
      if (auto br = st.find(id))
        made.samples.push_back({.labels = labels(*br), .value = static_cast<int64_t>(run.status.*f.field)});
    out.push_back(std::move(made));
  }
  return out;
}

bridge_setup make_bridge_setup(manager_pointer self, const bridge_config& br) {
  auto& st = self->state;
  bridge_setup setup;
  setup.config = br;
  setup.manager = caf::actor_cast<caf::actor>(self);
  setup.publisher = st.setup.publisher;
  setup.writer = st.setup.writer;
  setup.feeds = event_feed_context{st.controller, st.setup.reader, st.setup.gateway, st.setup.subscriber_queue_limit};
  setup.connections = st.setup.connections;
  setup.limits = st.setup.limits;
  return setup;
}

// Starts, restarts or stops the bridge's actor as its definition and the
// ownership say.
void decide(manager_pointer self, const std::string& id) {
  auto& st = self->state;
  auto br = st.find(id);
  bool run = st.controller && br && !br->disabled && st.setup.owner_of(id) == st.setup.node_name;
  auto it = st.running.find(id);
  if (it != st.running.end() && (!run || it->second.version != br->version)) {
    self->demonitor(it->second.actor);
    self->send_exit(it->second.actor, caf::exit_reason::user_shutdown);
    st.running.erase(it);
    it = st.running.end();
  }
  if (run && it == st.running.end()) {
    auto actor = spawn_bridge(self->system(), make_bridge_setup(self, *br));
    self->monitor(actor);
    st.running[id] = running_bridge{actor, br->version, {}};
  }
}

void decide_all(manager_pointer self) {
  for (const auto& [id, br] : self->state.bridges)
    decide(self, id);
}

void apply(manager_pointer self, const bridge_config& br) {
  self->state.bridges[br.id] = br;
  decide(self, br.id);
}

// Applies the change, stores it (the writer announces it to the cluster)
// and answers `status` with the view once it is durable.
caf::result<bridge_reply> store(manager_pointer self, const bridge_config& br, int status) {
  apply(self, br);
  auto promise = self->make_response_promise<bridge_reply>();
  auto body = status == 204 ? std::string{} : render_view(self->state, br).dump();
  self->request(self->state.setup.writer, caf::infinite, put_rec_atom::value, to_record(br))
    .then(
      [promise, status, body](bool stored) mutable {
        promise.deliver(stored ? bridge_reply{status, {}, body} : problem(503, "the bridge was not stored"));
      },
      [promise](caf::error& err) mutable { promise.deliver(problem(503, caf::to_string(err))); });
  return promise;
}

std::optional<json> parse_body(const std::string& text, std::string& error) {
  try {
    return json::parse(text.empty() ? "{}" : text);
  } catch (const json::exception& e) {
    error = std::string("the body is not valid JSON: ") + e.what();
    return std::nullopt;
  }
}

caf::behavior bridge_manager(manager_pointer self, bridge_manager_setup setup) {
  auto& st = self->state;
  st.setup = std::move(setup);
  for (const auto& record : st.setup.records) {
    try {
      auto br = bridge_from_record(record);
      st.bridges[br.id] = br;
    } catch (const std::exception& e) {
      log_line() << "evmesh: ignoring unreadable bridge record " << record.id << ": " << e.what();
    }
  }
  st.setup.records.clear();
  // A bridge actor that ended on its own (it could not read the log's end)
  // is started again a second later.
  self->set_down_handler([self](caf::down_msg& down) {
    auto& state = self->state;
    for (auto it = state.running.begin(); it != state.running.end(); ++it)
      if (it->second.actor.address() == down.source) {
        log_line() << "evmesh: bridge " << it->first << " stopped: " << caf::to_string(down.reason);
        state.running.erase(it);
        self->delayed_send(self, std::chrono::seconds{1}, br_owners_atom::value);
        return;
      }
  });
  return {
    [self](controller_actor controller) {
      self->state.controller = std::move(controller);
      decide_all(self);
    },
    [self](put_rec_atom, const registry_record& record) {
      try {
        apply(self, bridge_from_record(record));
      } catch (const std::exception& e) {
        log_line() << "evmesh: ignoring an unreadable replicated bridge " << record.id << ": " << e.what();
      }
    },
    [self](br_owners_atom) { decide_all(self); },
    [self](br_create_atom, const std::string& text) -> caf::result<bridge_reply> {
      std::string error;
      auto body = parse_body(text, error);
      if (!body)
        return problem(400, error);
      bridge_config br;
      if (auto why = apply_bridge_fields(br, *body, true, self->state.setup.allow_private_targets); !why.empty())
        return problem(400, why);
      br.id = make_bridge_id();
      br.created_us = br.updated_us = now_us();
      br.version = 1;
      return store(self, br, 201);
    },
    [self](br_list_atom) {
      json out = json::array();
      for (const auto& [id, br] : self->state.bridges)
        if (!br.deleted)
          out.push_back(render_view(self->state, br));
      return bridge_reply{200, {}, json{{"bridges", out}}.dump()};
    },
    [self](br_get_atom, const std::string& id) {
      auto br = self->state.find(id);
      return br ? bridge_reply{200, {}, render_view(self->state, *br).dump()}
                : problem(404, "no bridge has id \"" + id + "\"");
    },
    [self](br_patch_atom, const std::string& id, const std::string& text) -> caf::result<bridge_reply> {
      auto found = self->state.find(id);
      if (!found)
        return problem(404, "no bridge has id \"" + id + "\"");
      std::string error;
      auto body = parse_body(text, error);
      if (!body)
        return problem(400, error);
      auto br = *found;
      if (auto why = apply_bridge_fields(br, *body, false, self->state.setup.allow_private_targets); !why.empty())
        return problem(400, why);
      br.updated_us = now_us();
      ++br.version;
      return store(self, br, 200);
    },
    [self](br_delete_atom, const std::string& id) -> caf::result<bridge_reply> {
      auto found = self->state.find(id);
      if (!found)
        return problem(404, "no bridge has id \"" + id + "\"");
      auto br = *found;
      br.deleted = true;
      br.updated_us = now_us();
      ++br.version;
      return store(self, br, 204);
    },
    [self](br_status_atom, const bridge_status& status) {
      auto it = self->state.running.find(status.id);
      if (it != self->state.running.end() && caf::actor_cast<caf::actor>(self->current_sender()) == it->second.actor)
        it->second.status = status;
    },
    [self](br_metrics_atom) { return bridge_metrics(self->state); },
  };
}

} // namespace

caf::actor spawn_bridge_manager(caf::actor_system& sys, bridge_manager_setup setup) {
  return sys.spawn(bridge_manager, std::move(setup));
}

} // namespace evmesh
