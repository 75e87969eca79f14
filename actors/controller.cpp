// See controller.hpp.
#include "actors/controller.hpp"

#include "actors/subscriber.hpp"

#include <nlohmann/json.hpp>

#include <iostream>
#include <unordered_map>

namespace evmesh {
namespace {

// A user-declared constructor keeps C++20 from treating the state as an
// aggregate that CAF would try to build from the actor pointer.
struct controller_state {
  controller_state() = default;
  controller_setup setup;
  auth_table tokens;  // hash → scopes, the admin token included
  std::unordered_map<subscriber_id, caf::actor> subscribers;
  std::unordered_map<caf::actor_addr, subscriber_id> subscriber_by_addr;
  subscriber_id next_id = 1;
  static inline const char* name = "evmesh.controller";

  void publish_auth() { setup.publish_auth(std::make_shared<const auth_table>(tokens)); }

  void forget(subscriber_id id) {
    auto it = subscribers.find(id);
    if (it == subscribers.end())
      return;
    subscriber_by_addr.erase(it->second.address());
    subscribers.erase(it);
    setup.probe->subscribers.fetch_sub(1, std::memory_order_relaxed);
  }
};

using controller_pointer = controller_actor::stateful_pointer<controller_state>;

scope_list parse_scopes(const std::vector<std::string>& texts) {
  scope_list scopes;
  for (const auto& text : texts) {
    std::string error;
    if (auto s = parse_scope(text, error))
      scopes.push_back(std::move(*s));
    else
      std::cerr << "evmesh: ignoring stored " << error << std::endl;
  }
  return scopes;
}

// The scopes a token record grants; nullopt (and a log line) when unreadable.
std::optional<scope_list> token_scopes(const registry_record& record) {
  try {
    auto body = nlohmann::json::parse(record.body);
    return parse_scopes(body.at("scopes").get<std::vector<std::string>>());
  } catch (const std::exception& e) {
    std::cerr << "evmesh: ignoring unreadable token record " << record.id << ": " << e.what()
              << std::endl;
    return std::nullopt;
  }
}

} // namespace

auth_table make_auth_table(const std::vector<registry_record>& tokens,
                           const std::string& admin_token_hash) {
  auth_table table;
  for (const auto& record : tokens)
    if (auto scopes = token_scopes(record))
      table[record.id] = std::move(*scopes);
  table[admin_token_hash] = {scope{scope::kind::admin, {}}};
  return table;
}

namespace {

controller_actor::behavior_type controller(controller_pointer self, controller_setup setup) {
  auto& st = self->state;
  st.setup = std::move(setup);
  st.tokens = std::move(st.setup.tokens);  // the edge already has this table
  self->set_down_handler([self](caf::down_msg& down) {
    auto it = self->state.subscriber_by_addr.find(down.source);
    if (it != self->state.subscriber_by_addr.end()) {
      self->send(self->state.setup.router, unsub_atom::value, it->second);
      self->state.forget(it->second);
    }
  });
  return {
    // Scopes arrive validated by the edge; the token is answered once stored.
    [self](token_atom, const std::vector<std::string>& scope_texts) -> caf::result<std::string> {
      auto token = make_token();
      auto hash = token_hash(token);
      registry_record record{"token", hash,
                             nlohmann::json{{"scopes", scope_texts},
                                            {"created", format_rfc3339(now_us())}}
                               .dump(),
                             1};
      auto promise = self->make_response_promise<std::string>();
      self->request(self->state.setup.writer, caf::infinite, put_rec_atom::value, record)
        .then(
          [self, promise, token, hash, scopes = parse_scopes(scope_texts)](bool stored) mutable {
            if (!stored) {
              promise.deliver(caf::make_error(caf::sec::runtime_error, "token not stored"));
              return;
            }
            self->state.tokens[hash] = scopes;
            self->state.publish_auth();
            promise.deliver(token);
          },
          [promise](caf::error& err) mutable { promise.deliver(std::move(err)); });
      return promise;
    },
    [self](put_rec_atom, const registry_record& record) {
      if (record.kind != "token")
        return;
      auto table = make_auth_table({record}, "");
      table.erase("");
      for (auto& [hash, scopes] : table)
        self->state.tokens[hash] = std::move(scopes);
      self->state.publish_auth();
    },
    [self](subscribe_atom, const std::string& pattern, subscriber_target& target,
           uint64_t queue_limit) -> subscriber_id {
      auto& state = self->state;
      auto id = state.next_id++;
      auto actor = spawn_subscriber(self->system(), id, std::move(target), state.setup.router,
                                    *state.setup.probe);
      self->monitor(actor);
      state.subscriber_by_addr[actor.address()] = id;
      state.subscribers[id] = actor;
      state.setup.probe->subscribers.fetch_add(1, std::memory_order_relaxed);
      self->send(state.setup.router, subscribe_atom::value, id, pattern, actor, queue_limit);
      return id;
    },
    [self](unsub_atom, subscriber_id id) {
      auto it = self->state.subscribers.find(id);
      if (it == self->state.subscribers.end())
        return;
      self->send(self->state.setup.router, unsub_atom::value, id);
      self->send_exit(it->second, caf::exit_reason::user_shutdown);
      self->state.forget(id);
    },
  };
}

} // namespace

controller_actor spawn_controller(caf::actor_system& sys, controller_setup setup) {
  return sys.spawn(controller, std::move(setup));
}

} // namespace evmesh
