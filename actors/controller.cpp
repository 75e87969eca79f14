// See controller.hpp.
#include "actors/controller.hpp"

#include "actors/subscriber.hpp"
#include "model/bridge_config.hpp"
#include "base/webhook_signature.hpp"
#include "base/log_line.hpp"

#include <nlohmann/json.hpp>

#include <map>
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
  std::map<std::string, endpoint_config> endpoints;
  std::map<std::string, source_config> sources;  // by name, tombstones included
  static inline const char* name = "evmesh.controller";

  void publish_auth() { setup.publish_auth(std::make_shared<const auth_table>(tokens)); }

  void publish_sources() {
    source_table table;
    for (const auto& [source_name, source] : sources)
      if (!source.deleted)
        table.emplace(source_name, make_live_source(source));
    setup.publish_sources(std::make_shared<const source_table>(std::move(table)));
  }

  // The live source called `source_name`, or null.
  const source_config* find_source(const std::string& source_name) const {
    auto it = sources.find(source_name);
    return it == sources.end() || it->second.deleted ? nullptr : &it->second;
  }

  void forget(subscriber_id id) {
    auto it = subscribers.find(id);
    if (it == subscribers.end())
      return;
    subscriber_by_addr.erase(it->second.address());
    subscribers.erase(it);
    setup.routing->subscribers.fetch_sub(1, std::memory_order_relaxed);
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
      log_line() << "evmesh: ignoring stored " << error;
  }
  return scopes;
}

// The scopes a token record grants; nullopt (and a log line) when unreadable.
std::optional<scope_list> token_scopes(const registry_record& record) {
  try {
    auto body = nlohmann::json::parse(record.body);
    return parse_scopes(body.at("scopes").get<std::vector<std::string>>());
  } catch (const std::exception& e) {
    log_line() << "evmesh: ignoring unreadable token record " << record.id << ": " << e.what();
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

template <class Record>
registry_reply<Record> reply_error(int status, std::string error) {
  registry_reply<Record> r;
  r.status = status;
  r.error = std::move(error);
  return r;
}

// Stores `record` (a change already made in the controller's table, or a
// tombstone) and answers `status` with `value` once it is durable. The store
// writer announces it to the cluster.
template <class Record>
caf::result<registry_reply<Record>> store_record(controller_pointer self, const registry_record& record,
                                                 const Record& value, int status) {
  auto promise = self->make_response_promise<registry_reply<Record>>();
  self->request(self->state.setup.writer, caf::infinite, put_rec_atom::value, record)
    .then(
      [promise, value, status](bool stored) mutable {
        promise.deliver(stored ? registry_reply<Record>{status, {}, value}
                               : reply_error<Record>(503, "the record was not stored"));
      },
      [promise](caf::error& err) mutable { promise.deliver(reply_error<Record>(503, caf::to_string(err))); });
  return promise;
}

// Stores the endpoint and tells the delivery manager.
caf::result<endpoint_reply> store_endpoint(controller_pointer self, const endpoint_config& ep, int status) {
  caf::anon_send(self->state.setup.delivery_manager, ep_update_atom::value, ep);
  return store_record(self, to_record(ep), ep, status);
}

// Stores the source and hands the edge the new source table.
caf::result<source_reply> store_source(controller_pointer self, const source_config& source, int status) {
  self->state.sources[source.name] = source;
  self->state.publish_sources();
  return store_record(self, to_record(source), source, status);
}

std::string no_source(const std::string& name) { return "no source is named \"" + name + "\""; }

// Parses an API body; nullopt and `error` set when it is not JSON.
std::optional<nlohmann::json> parse_body(const std::string& text, std::string& error) {
  if (text.empty())
    return nlohmann::json::object();
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    error = std::string("the body is not valid JSON: ") + e.what();
    return std::nullopt;
  }
}

// Parses an API body and applies it to `record` with `apply(record, body)`;
// empty when fine, else the reason for a 400.
template <class Record, class Apply>
std::string apply_body(const std::string& text, Record& record, Apply apply) {
  std::string error;
  auto body = parse_body(text, error);
  return body ? apply(record, *body) : error;
}

void publish_disabled(controller_pointer self, const endpoint_config& ep) {
  event draft;
  draft.topic = endpoint_disabled_topic;
  draft.data = nlohmann::json{{"endpoint_id", ep.id}, {"url", ep.url}, {"reason", ep.disabled_reason}}.dump();
  std::vector<event> batch;
  batch.push_back(std::move(draft));
  self->send(self->state.setup.publisher, publish_atom::value, std::move(batch), publish_callback{[](publish_reply reply) {
               if (!reply.error.empty())
                 log_line() << "evmesh: publishing " << endpoint_disabled_topic << " failed: " << reply.error;
             }});
}

controller_actor::behavior_type controller(controller_pointer self, controller_setup setup) {
  auto& st = self->state;
  st.setup = std::move(setup);
  st.tokens = std::move(st.setup.tokens);  // the edge already has this table
  for (const auto& record : st.setup.endpoint_records) {
    try {
      auto ep = endpoint_from_record(record);
      drop_expired_secrets(ep, now_us());
      st.endpoints[ep.id] = ep;
      caf::anon_send(st.setup.delivery_manager, ep_update_atom::value, ep);
    } catch (const std::exception& e) {
      log_line() << "evmesh: ignoring unreadable endpoint record " << record.id << ": " << e.what();
    }
  }
  st.setup.endpoint_records.clear();
  for (const auto& record : st.setup.source_records) {
    try {
      st.sources[record.id] = source_from_record(record);
    } catch (const std::exception&) {
      // No reason printed: a parse error quotes the body, which holds the secret.
      log_line() << "evmesh: ignoring unreadable source record " << record.id;
    }
  }
  st.setup.source_records.clear();
  st.publish_sources();
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
      auto& state = self->state;
      if (record.kind == "token") {
        if (record.deleted())
          state.tokens.erase(record.id);
        else if (auto scopes = token_scopes(record))
          state.tokens[record.id] = std::move(*scopes);
        state.publish_auth();
        return;
      }
      if (record.kind == bridge_record_kind) {  // bridges have their own registry
        caf::anon_send(state.setup.bridge_manager, put_rec_atom::value, record);
        return;
      }
      if (record.kind == "source") {
        try {
          state.sources[record.id] = source_from_record(record);
          state.publish_sources();
        } catch (const std::exception&) {  // no reason printed, as at start
          log_line() << "evmesh: ignoring an unreadable replicated source " << record.id;
        }
        return;
      }
      if (record.kind != "endpoint")
        return;
      if (record.deleted()) {
        state.endpoints.erase(record.id);
        caf::anon_send(state.setup.delivery_manager, ep_remove_atom::value, record.id);
        return;
      }
      try {
        auto ep = endpoint_from_record(record);
        state.endpoints[ep.id] = ep;
        caf::anon_send(state.setup.delivery_manager, ep_update_atom::value, ep);
      } catch (const std::exception& e) {
        log_line() << "evmesh: ignoring an unreadable replicated endpoint " << record.id << ": "
                   << e.what();
      }
    },
    [self](ep_create_atom, const std::string& text) -> caf::result<endpoint_reply> {
      auto& state = self->state;
      endpoint_config ep;
      auto why = apply_body(text, ep, [&](endpoint_config& e, const nlohmann::json& body) {
        return apply_endpoint_fields(e, body, true, state.setup.allow_private_targets);
      });
      if (!why.empty())
        return reply_error<endpoint_config>(400, why);
      ep.id = make_endpoint_id();
      ep.created_us = ep.updated_us = now_us();
      ep.version = 1;
      state.endpoints[ep.id] = ep;
      // The cursor is created at the log's end before the answer, so every
      // event published after the 201 is delivered.
      self->request(state.setup.writer, caf::infinite, dl_open_atom::value, ep.id)
        .then([](const delivery_snapshot&) {}, [](caf::error&) {});
      return store_endpoint(self, ep, 201);
    },
    [self](ep_list_atom) {
      std::vector<endpoint_config> out;
      for (const auto& [id, ep] : self->state.endpoints)
        out.push_back(ep);
      return out;
    },
    [self](ep_get_atom, const std::string& id) -> endpoint_reply {
      auto it = self->state.endpoints.find(id);
      if (it == self->state.endpoints.end())
        return reply_error<endpoint_config>(404, "no endpoint has id \"" + id + "\"");
      return {200, {}, it->second};
    },
    [self](ep_patch_atom, const std::string& id, const std::string& text) -> caf::result<endpoint_reply> {
      auto& state = self->state;
      auto it = state.endpoints.find(id);
      if (it == state.endpoints.end())
        return reply_error<endpoint_config>(404, "no endpoint has id \"" + id + "\"");
      auto ep = it->second;
      auto why = apply_body(text, ep, [&](endpoint_config& e, const nlohmann::json& body) {
        return apply_endpoint_fields(e, body, false, state.setup.allow_private_targets);
      });
      if (!why.empty())
        return reply_error<endpoint_config>(400, why);
      ep.updated_us = now_us();
      ++ep.version;
      it->second = ep;
      return store_endpoint(self, ep, 200);
    },
    [self](ep_delete_atom, const std::string& id) -> caf::result<endpoint_reply> {
      auto& state = self->state;
      auto it = state.endpoints.find(id);
      if (it == state.endpoints.end())
        return reply_error<endpoint_config>(404, "no endpoint has id \"" + id + "\"");
      auto ep = it->second;
      state.endpoints.erase(it);
      caf::anon_send(state.setup.delivery_manager, ep_remove_atom::value, id);
      return store_record(self, to_record(ep).tombstone(), ep, 204);
    },
    [self](ep_rotate_atom, const std::string& id, const std::string& text) -> caf::result<endpoint_reply> {
      auto& state = self->state;
      auto it = state.endpoints.find(id);
      if (it == state.endpoints.end())
        return reply_error<endpoint_config>(404, "no endpoint has id \"" + id + "\"");
      std::string error;
      auto body = parse_body(text, error);
      if (!body)
        return reply_error<endpoint_config>(400, error);
      std::string secret = make_webhook_secret();
      if (body->is_object() && body->contains("secret")) {
        const auto& given = (*body)["secret"];
        if (!given.is_string() || !webhook_secret_key(given.get<std::string>(), error))
          return reply_error<endpoint_config>(400, "\"secret\": " + (error.empty() ? std::string("must be a string") : error));
        secret = given.get<std::string>();
      }
      auto ep = it->second;
      auto now = now_us();
      drop_expired_secrets(ep, now);
      for (auto& old : ep.secrets)
        if (old.expires_us == 0)
          old.expires_us = now + rotated_secret_lifetime_us;
      ep.secrets.insert(ep.secrets.begin(), endpoint_secret{secret, 0});
      ep.updated_us = now;
      ++ep.version;
      it->second = ep;
      return store_endpoint(self, ep, 200);
    },
    [self](ep_disable_atom, const std::string& id, const std::string& reason) {
      auto& state = self->state;
      auto it = state.endpoints.find(id);
      if (it == state.endpoints.end() || it->second.disabled)
        return;
      auto& ep = it->second;
      ep.disabled = true;
      ep.disabled_reason = reason;
      ep.updated_us = now_us();
      ++ep.version;
      log_line() << "evmesh: endpoint " << id << " disabled: " << reason;
      state.setup.webhooks->endpoints_disabled.fetch_add(1, std::memory_order_relaxed);
      self->request(state.setup.writer, caf::infinite, put_rec_atom::value, to_record(ep))
        .then([id](bool stored) {
                if (!stored)
                  log_line() << "evmesh: the disabled state of endpoint " << id << " was not stored";
              },
              [](caf::error&) {});
      caf::anon_send(state.setup.delivery_manager, ep_update_atom::value, ep);
      publish_disabled(self, ep);
    },
    [self](src_create_atom, const std::string& text) -> caf::result<source_reply> {
      auto& state = self->state;
      source_config source;
      auto why = apply_body(text, source, [](source_config& s, const nlohmann::json& body) {
        return apply_source_fields(s, body, true);
      });
      if (!why.empty())
        return reply_error<source_config>(400, why);
      if (state.find_source(source.name))
        return reply_error<source_config>(409, "a source named \"" + source.name + "\" exists already");
      auto tombstone = state.sources.find(source.name);
      source.version = tombstone == state.sources.end() ? 1 : tombstone->second.version + 1;
      source.created_us = source.updated_us = now_us();
      return store_source(self, source, 201);
    },
    [self](src_list_atom) {
      std::vector<source_config> out;
      for (const auto& [name, source] : self->state.sources)
        if (!source.deleted)
          out.push_back(source);
      return out;
    },
    [self](src_get_atom, const std::string& name) -> source_reply {
      auto found = self->state.find_source(name);
      return found ? source_reply{200, {}, *found} : reply_error<source_config>(404, no_source(name));
    },
    [self](src_patch_atom, const std::string& name, const std::string& text) -> caf::result<source_reply> {
      auto found = self->state.find_source(name);
      if (!found)
        return reply_error<source_config>(404, no_source(name));
      auto source = *found;
      auto why = apply_body(text, source, [](source_config& s, const nlohmann::json& body) {
        return apply_source_fields(s, body, false);
      });
      if (!why.empty())
        return reply_error<source_config>(400, why);
      source.updated_us = now_us();
      ++source.version;
      return store_source(self, source, 200);
    },
    // A tombstone, so the deletion replicates like any change.
    [self](src_delete_atom, const std::string& name) -> caf::result<source_reply> {
      auto found = self->state.find_source(name);
      if (!found)
        return reply_error<source_config>(404, no_source(name));
      source_config tombstone;
      tombstone.name = name;
      tombstone.deleted = true;
      tombstone.version = found->version + 1;
      return store_source(self, tombstone, 204);
    },
    [self](subscribe_atom, const std::string& pattern, subscriber_target& target,
           uint64_t queue_limit) -> subscriber_id {
      auto& state = self->state;
      auto id = state.next_id++;
      auto actor = spawn_subscriber(self->system(), id, std::move(target), state.setup.router,
                                    *state.setup.routing);
      self->monitor(actor);
      state.subscriber_by_addr[actor.address()] = id;
      state.subscribers[id] = actor;
      state.setup.routing->subscribers.fetch_add(1, std::memory_order_relaxed);
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
