// See delivery_manager.hpp.
#include "actors/delivery_manager.hpp"

#include "actors/delivery.hpp"
#include "actors/subscription_trie.hpp"
#include "transports/log_line.hpp"

#include <unordered_map>

namespace evmesh {
namespace {

constexpr auto actor_timeout = std::chrono::seconds{30};
constexpr uint64_t router_queue_limit = uint64_t{1} << 20;

struct running_endpoint {
  endpoint_config config;
  caf::actor actor;
  std::vector<event_ptr> batch;  // being assembled for the current routed batch
};

struct manager_state {
  manager_state() = default;
  delivery_manager_setup setup;
  controller_actor controller;
  std::unordered_map<uint64_t, running_endpoint> running;  // by number (the trie's id)
  std::unordered_map<std::string, uint64_t> number_of;
  uint64_t next_number = 1;
  subscription_trie trie;
  bool subscribed = false;
  uint64_t routed_upto = 0;
  std::vector<uint64_t> matched;  // scratch
  // One flush round at a time: ask every actor, then one write.
  bool round_running = false;
  std::size_t replies_missing = 0;
  std::vector<endpoint_progress> collected;
  std::vector<caf::response_promise> flush_waiters;   // answered when the current round ends
  std::vector<caf::response_promise> next_waiters;    // need a round that starts after them
  static inline const char* name = "evmesh.delivery_manager";
};

using manager_pointer = caf::stateful_actor<manager_state>*;

void update_subscription(manager_pointer self) {
  auto& st = self->state;
  bool want = !st.running.empty();
  if (want == st.subscribed)
    return;
  st.subscribed = want;
  if (want)
    self->send(st.setup.router, subscribe_atom::value, delivery_subscriber_id, std::string(">"),
               caf::actor{self}, router_queue_limit);
  else
    self->send(st.setup.router, unsub_atom::value, delivery_subscriber_id);
}

// Tells the writer to stop tracking an endpoint (see delivery_store::close_endpoint).
void close_in_store(manager_pointer self, const std::string& id, bool forget) {
  self->request(self->state.setup.writer, actor_timeout, dl_close_atom::value, id, forget)
    .then([](bool) {}, [id](caf::error& err) {
      log_line() << "evmesh: closing the delivery state of " << id << " failed: " << caf::to_string(err);
    });
}

void stop_endpoint(manager_pointer self, const std::string& id) {
  auto& st = self->state;
  auto found = st.number_of.find(id);
  if (found == st.number_of.end())
    return;
  auto& entry = st.running[found->second];
  for (const auto& pattern : entry.config.topics)
    st.trie.erase(pattern, found->second);
  self->unlink_from(entry.actor);
  self->send_exit(entry.actor, caf::exit_reason::user_shutdown);
  st.running.erase(found->second);
  st.number_of.erase(found);
  st.setup.probe->webhook_endpoints.fetch_sub(1, std::memory_order_relaxed);
  update_subscription(self);
}

void start_endpoint(manager_pointer self, const endpoint_config& ep) {
  auto& st = self->state;
  auto number = st.next_number++;
  auto actor = spawn_delivery(self->system(),
                              delivery_setup{ep, st.setup.writer, st.setup.reader, caf::actor{self}, st.setup.client,
                                             st.setup.retry_schedule, st.setup.request_timeout,
                                             st.setup.disable_after_us, st.setup.probe});
  self->link_to(actor);  // the manager's exit takes its delivery actors along
  for (const auto& pattern : ep.topics)
    st.trie.insert(pattern, number);
  st.running[number] = running_endpoint{ep, actor, {}};
  st.number_of[ep.id] = number;
  st.setup.probe->webhook_endpoints.fetch_add(1, std::memory_order_relaxed);
  update_subscription(self);
}

void on_update(manager_pointer self, const endpoint_config& ep) {
  auto& st = self->state;
  auto found = st.number_of.find(ep.id);
  bool deliver = !ep.disabled && st.setup.owns(ep.id);
  if (!deliver) {
    bool was_running = found != st.number_of.end();
    stop_endpoint(self, ep.id);
    // A disabled endpoint lets go of its cursor (so retention is not held
    // back) and its open rows fail; re-enabled, it starts at the log's end.
    if (ep.disabled || was_running)
      close_in_store(self, ep.id, false);
    return;
  }
  if (found == st.number_of.end())
    return start_endpoint(self, ep);
  auto& entry = st.running[found->second];
  for (const auto& pattern : entry.config.topics)
    st.trie.erase(pattern, found->second);
  for (const auto& pattern : ep.topics)
    st.trie.insert(pattern, found->second);
  entry.config = ep;
  self->send(entry.actor, ep_update_atom::value, ep);
}

void finish_round(manager_pointer self);

void start_round(manager_pointer self) {
  auto& st = self->state;
  st.round_running = true;
  st.flush_waiters.insert(st.flush_waiters.end(), st.next_waiters.begin(), st.next_waiters.end());
  st.next_waiters.clear();
  st.replies_missing = st.running.size();
  if (st.replies_missing == 0)
    return finish_round(self);
  for (auto& [number, entry] : st.running)
    self->request(entry.actor, actor_timeout, tick_atom::value, st.routed_upto)
      .then(
        [self](endpoint_progress& p) {
          auto& state = self->state;
          if (p.cursor || !p.rows.empty() || !p.attempts.empty() || p.last_success_us || p.failing_since_us)
            state.collected.push_back(std::move(p));
          if (--state.replies_missing == 0)
            finish_round(self);
        },
        [self](caf::error&) {
          if (--self->state.replies_missing == 0)
            finish_round(self);
        });
}

void end_round(manager_pointer self) {
  auto& st = self->state;
  st.round_running = false;
  for (auto& waiter : st.flush_waiters)
    waiter.deliver(true);
  st.flush_waiters.clear();
  if (!st.next_waiters.empty())
    start_round(self);
}

void finish_round(manager_pointer self) {
  auto& st = self->state;
  if (st.collected.empty())
    return end_round(self);
  auto batch = std::make_shared<std::vector<endpoint_progress>>(std::move(st.collected));
  st.collected.clear();
  // Progress the store did not take (it is down) goes into the next round,
  // before anything newer: cursors only move forward and later row states
  // overwrite earlier ones, so saving it late is saving it right.
  auto keep_for_next_round = [self, batch] {
    auto& collected = self->state.collected;
    batch->insert(batch->end(), std::make_move_iterator(collected.begin()), std::make_move_iterator(collected.end()));
    collected = std::move(*batch);
  };
  self->request(st.setup.writer, actor_timeout, dl_save_atom::value, *batch)
    .then(
      [self, keep_for_next_round](bool saved) {
        if (!saved)
          keep_for_next_round();
        end_round(self);
      },
      [self, keep_for_next_round](caf::error& err) {
        log_line() << "evmesh: saving delivery progress failed: " << caf::to_string(err);
        keep_for_next_round();
        end_round(self);
      });
}

caf::behavior manager(manager_pointer self, delivery_manager_setup setup) {
  self->state.setup = std::move(setup);
  self->delayed_send(self, self->state.setup.flush_interval, tick_atom::value);
  return {
    [self](const controller_actor& controller) { self->state.controller = controller; },
    [self](ep_update_atom, const endpoint_config& ep) { on_update(self, ep); },
    [self](ep_remove_atom, const std::string& id) {
      stop_endpoint(self, id);
      close_in_store(self, id, true);
    },
    [self](deliver_atom, const std::vector<event_ptr>& events) {
      auto& st = self->state;
      self->send(st.setup.router, consumed_atom::value, delivery_subscriber_id, static_cast<uint64_t>(events.size()));
      std::vector<uint64_t> touched;
      for (const auto& e : events) {
        st.routed_upto = std::max(st.routed_upto, e->seq);
        st.trie.match(e->topic, st.matched);
        for (auto number : st.matched) {
          auto& entry = st.running[number];
          if (entry.batch.empty())
            touched.push_back(number);
          entry.batch.push_back(e);
        }
      }
      for (auto number : touched) {
        auto& entry = st.running[number];
        self->send(entry.actor, deliver_atom::value, std::move(entry.batch), st.routed_upto);
        entry.batch.clear();
      }
    },
    [self](overflow_atom, const std::string& reason) {
      // The router dropped us (we fell behind): subscribe again and let
      // every endpoint catch up from the log.
      log_line() << "evmesh: webhook delivery lost its live feed (" << reason << "); resubscribing";
      self->state.subscribed = false;
      update_subscription(self);
      for (auto& [number, entry] : self->state.running)
        self->send(entry.actor, resync_atom::value);
    },
    [self](ep_disable_atom, const std::string& id, const std::string& reason) {
      if (self->state.controller)
        self->send(self->state.controller, ep_disable_atom::value, id, reason);
    },
    [self](replay_atom, replay_request& req) -> caf::result<replay_result> {
      auto& st = self->state;
      auto found = st.number_of.find(req.endpoint_id);
      if (found == st.number_of.end()) {
        replay_result out;
        out.error = "the endpoint is disabled or not delivered by this node";
        return out;
      }
      req.patterns = st.running[found->second].config.topics;
      auto promise = self->make_response_promise<replay_result>();
      auto id = req.endpoint_id;
      self->request(st.setup.writer, actor_timeout, dl_replay_atom::value, std::move(req))
        .then(
          [self, promise, id](replay_result& result) mutable {
            auto& state = self->state;
            result.queued = result.events.size();
            if (auto it = state.number_of.find(id); it != state.number_of.end() && !result.events.empty())
              self->send(state.running[it->second].actor, replay_atom::value, result.events);
            result.events.clear();  // the caller needs the range and count only
            promise.deliver(std::move(result));
          },
          [promise](caf::error& err) mutable { promise.deliver(std::move(err)); });
      return promise;
    },
    [self](tick_atom) {
      if (!self->state.round_running)
        start_round(self);
      self->delayed_send(self, self->state.setup.flush_interval, tick_atom::value);
    },
    [self](flush_atom) -> caf::result<bool> {
      auto promise = self->make_response_promise<bool>();
      self->state.next_waiters.push_back(promise);
      if (!self->state.round_running)
        start_round(self);
      return promise;
    },
  };
}

} // namespace

caf::actor spawn_delivery_manager(caf::actor_system& sys, delivery_manager_setup setup) {
  return sys.spawn(manager, std::move(setup));
}

} // namespace evmesh
