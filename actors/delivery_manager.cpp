// See delivery_manager.hpp.
#include "actors/delivery_manager.hpp"

#include "base/log_line.hpp"

#include <unordered_map>

namespace evmesh {
namespace {

constexpr auto actor_timeout = std::chrono::seconds{30};
constexpr auto restart_delay = std::chrono::seconds{1};

struct running_endpoint {
  endpoint_config config;
  delivery_actor actor;
};

struct manager_state {
  manager_state() = default;
  delivery_manager_setup setup;
  controller_actor controller;
  std::unordered_map<std::string, endpoint_config> known;  // every endpoint the controller told of
  // Shared store: the leases held (endpoint id → fence), trusted until
  // held_until (a sixth of a lease before they may lapse); leases to give
  // up in the next round.
  std::map<std::string, uint64_t> held;
  std::chrono::steady_clock::time_point held_until;
  std::map<std::string, uint64_t> to_release;
  bool lease_round_running = false;
  bool lease_round_failed = false;  // the last round failed (logged once)
  bool released = false;            // the node is stopping: no more claims
  std::unordered_map<uint64_t, running_endpoint> running;  // by number (what the router routes to)
  std::unordered_map<std::string, uint64_t> number_of;
  uint64_t next_number = 1;
  uint64_t routed_upto = 0;
  // One flush round at a time: ask every actor, then one write.
  bool round_running = false;
  std::size_t replies_missing = 0;
  std::vector<endpoint_progress> collected;
  std::vector<caf::response_promise> flush_waiters;   // answered when the current round ends
  std::vector<caf::response_promise> next_waiters;    // need a round that starts after them
  static inline const char* name = "evmesh.delivery_manager";

  bool shared() const { return static_cast<bool>(setup.lease_keeper); }
  // Whether this node should run a delivery actor for the endpoint now.
  bool delivers(const endpoint_config& ep) const {
    return !ep.disabled && (shared() ? held.count(ep.id) > 0 : setup.owns(ep.id));
  }
};

using manager_pointer = delivery_manager_actor::stateful_pointer<manager_state>;

// Tells the router which events go to the endpoint running under `number`
// (no patterns: none any more).
void route(manager_pointer self, uint64_t number, std::vector<std::string> patterns) {
  self->send(self->state.setup.router, ep_route_atom::value, number, std::move(patterns),
             webhook_feed_actor{self});
}

// Tells the writer to stop tracking an endpoint (see delivery_store::close_endpoint).
void close_in_store(manager_pointer self, const std::string& id, bool forget) {
  self->request(self->state.setup.writer, actor_timeout, dl_close_atom::value, id, forget)
    .then([](bool) {}, [id](caf::error& err) {
      log_line() << "evmesh: closing the delivery state of " << id << " failed: " << caf::to_string(err);
    });
}

// Drops the endpoint's delivery actor from the books (the router's routes,
// the running set).
delivery_actor forget_endpoint(manager_pointer self, const std::string& id) {
  auto& st = self->state;
  auto found = st.number_of.find(id);
  if (found == st.number_of.end())
    return {};
  auto number = found->second;
  auto actor = std::move(st.running[number].actor);
  st.running.erase(number);
  st.number_of.erase(found);
  st.setup.probe->endpoints.fetch_sub(1, std::memory_order_relaxed);
  route(self, number, {});
  return actor;
}

void stop_endpoint(manager_pointer self, const std::string& id) {
  if (auto actor = forget_endpoint(self, id)) {
    self->unlink_from(actor);
    self->send_exit(actor, caf::exit_reason::user_shutdown);
  }
}

void start_endpoint(manager_pointer self, const endpoint_config& ep) {
  auto& st = self->state;
  auto number = st.next_number++;
  auto actor = spawn_delivery(self->system(),
                              delivery_setup{ep, st.setup.writer, st.setup.reader, endpoint_disabler_actor{self}, st.setup.client,
                                             st.setup.retry_schedule, st.setup.request_timeout,
                                             st.setup.disable_after_us, st.setup.probe, st.shared()});
  self->link_to(actor);  // the manager's exit takes its delivery actors along
  st.running[number] = running_endpoint{ep, actor};
  st.number_of[ep.id] = number;
  st.setup.probe->endpoints.fetch_add(1, std::memory_order_relaxed);
  route(self, number, ep.topics);
}

// Gives up the endpoint's lease in the next round (shared store).
void release_lease(manager_pointer self, const std::string& id) {
  auto& st = self->state;
  if (auto lease = st.held.find(id); lease != st.held.end()) {
    st.to_release.insert(*lease);
    st.held.erase(lease);
  }
}

void run_lease_round(manager_pointer self);

void on_update(manager_pointer self, const endpoint_config& ep) {
  auto& st = self->state;
  bool is_new = st.known.insert_or_assign(ep.id, ep).second;
  // Shared store: claim a new endpoint now rather than at the next round.
  if (is_new && st.shared() && !ep.disabled && st.setup.owns(ep.id))
    run_lease_round(self);
  auto found = st.number_of.find(ep.id);
  if (!st.delivers(ep)) {
    bool was_running = found != st.number_of.end();
    stop_endpoint(self, ep.id);
    // A disabled endpoint lets go of its cursor (so retention is not held
    // back) and its open rows fail; re-enabled, it starts at the log's end.
    // On SQLite so does an endpoint that moved to another node (which
    // delivers from its own log); on a shared store its state stays for the
    // lease's next holder.
    if (ep.disabled || (was_running && !st.shared()))
      close_in_store(self, ep.id, false);
    if (ep.disabled)
      release_lease(self, ep.id);
    return;
  }
  if (found == st.number_of.end())
    return start_endpoint(self, ep);
  auto& entry = st.running[found->second];
  if (entry.config.topics != ep.topics)
    route(self, found->second, ep.topics);
  entry.config = ep;
  self->send(entry.actor, ep_update_atom::value, ep);
}

// Shared store: stops every endpoint whose lease is no longer held and
// starts every held one that is not running.
void follow_leases(manager_pointer self) {
  auto& st = self->state;
  std::vector<std::string> lost;
  for (const auto& [id, number] : st.number_of)
    if (!st.held.count(id))
      lost.push_back(id);
  for (const auto& id : lost)
    stop_endpoint(self, id);
  for (const auto& [id, fence] : st.held)
    if (auto ep = st.known.find(id); ep != st.known.end() && !ep->second.disabled && !st.number_of.count(id))
      start_endpoint(self, ep->second);
}

void run_lease_round(manager_pointer self) {
  auto& st = self->state;
  if (st.lease_round_running || st.released)
    return;
  lease_request request;
  for (const auto& [id, ep] : st.known) {
    if (ep.disabled)
      continue;
    if (st.setup.owns(id)) {
      request.claim.push_back(id);
    } else if (auto lease = st.held.find(id); lease != st.held.end()) {
      request.release.insert(*lease);  // another live node owns it now
      st.held.erase(lease);
    } else {
      request.claim_orphans.push_back(id);
    }
  }
  request.release.insert(st.to_release.begin(), st.to_release.end());
  st.to_release.clear();
  follow_leases(self);  // what is being released stops first
  st.lease_round_running = true;
  auto sent = std::chrono::steady_clock::now();
  self->request(st.setup.lease_keeper, actor_timeout, lease_atom::value, std::move(request))
    .then(
      [self, sent](lease_grant& grant) {
        auto& state = self->state;
        state.lease_round_running = false;
        if (state.released)
          return;
        if (!grant.error.empty()) {
          if (!state.lease_round_failed)
            log_line() << "evmesh: renewing webhook delivery leases failed: " << grant.error;
          state.lease_round_failed = true;
          return;
        }
        if (state.lease_round_failed)
          log_line() << "evmesh: webhook delivery leases renewed again";
        state.lease_round_failed = false;
        state.held = std::move(grant.held);
        for (const auto& [id, fence] : state.to_release)  // released while the round ran
          state.held.erase(id);
        state.held_until = sent + state.setup.lease / 2;  // a sixth before the claim lapses
        follow_leases(self);
      },
      [self](caf::error&) { self->state.lease_round_running = false; });
}

// Shared store: leases not renewed in time may be another node's by now.
void drop_stale_leases(manager_pointer self) {
  auto& st = self->state;
  if (st.held.empty() || std::chrono::steady_clock::now() < st.held_until)
    return;
  log_line() << "evmesh: webhook delivery leases could not be renewed in time; pausing " << st.held.size()
             << " endpoint(s) until they are";
  st.held.clear();
  follow_leases(self);
}

void finish_round(manager_pointer self);
void reply_arrived(manager_pointer self);

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
          // On a shared store progress is saved under its lease; without
          // the lease it is dropped (the next holder redoes that work).
          auto lease = state.held.find(p.endpoint_id);
          bool keep = !state.shared() || lease != state.held.end();
          if (state.shared() && keep)
            p.fence = lease->second;
          if (keep && (!p.cursors.empty() || !p.rows.empty() || !p.attempts.empty() || p.last_success_us ||
                       p.failing_since_us))
            state.collected.push_back(std::move(p));
          reply_arrived(self);
        },
        [self](caf::error&) { reply_arrived(self); });
}

void reply_arrived(manager_pointer self) {
  if (--self->state.replies_missing == 0)
    finish_round(self);
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

// One routed batch from the router: each running endpoint gets its events.
void on_routed(manager_pointer self, webhook_batch& batch) {
  auto& st = self->state;
  st.routed_upto = std::max(st.routed_upto, batch.routed_upto);
  uint64_t count = 0;
  for (auto& part : batch.endpoints) {
    count += part.events.size();
    // An endpoint stopped since the router matched the batch is not running.
    if (auto it = st.running.find(part.endpoint); it != st.running.end())
      self->send(it->second.actor, deliver_atom::value, std::move(part.events), st.routed_upto);
  }
  if (count > 0)
    self->send(st.setup.router, consumed_atom::value, count);
}

delivery_manager_actor::behavior_type manager(manager_pointer self, delivery_manager_setup setup) {
  self->state.setup = std::move(setup);
  self->delayed_send(self, self->state.setup.flush_interval, tick_atom::value);
  if (self->state.shared())
    self->send(self, lease_atom::value);
  // A delivery actor that failed (its store was down when it opened) is
  // started again a second later; any other linked exit ends the manager.
  self->set_exit_handler([self](caf::exit_msg& msg) {
    for (const auto& [number, entry] : self->state.running) {
      if (entry.actor.address() != msg.source)
        continue;
      auto id = entry.config.id;
      log_line() << "evmesh: webhook delivery for " << id << " stopped (" << caf::to_string(msg.reason)
                 << "); starting it again in " << restart_delay.count() << " s";
      forget_endpoint(self, id);
      self->delayed_send(self, restart_delay, wake_atom::value, id);
      return;
    }
    if (msg.reason)
      self->quit(std::move(msg.reason));
  });
  return {
    [self](const controller_actor& controller) { self->state.controller = controller; },
    [self](ep_update_atom, const endpoint_config& ep) { on_update(self, ep); },
    [self](ep_remove_atom, const std::string& id) {
      self->state.known.erase(id);
      stop_endpoint(self, id);
      close_in_store(self, id, true);
      release_lease(self, id);
    },
    [self](deliver_atom, webhook_batch& batch) { on_routed(self, batch); },
    [self](overflow_atom, const std::string& reason) {
      // The router dropped batches (we fell behind): every endpoint
      // catches up from the log, then follows the live events again.
      log_line() << "evmesh: webhook delivery lost live events (" << reason << "); reading them from the log";
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
            result.queued = result.rows.size();
            if (auto it = state.number_of.find(id); it != state.number_of.end() && !result.rows.empty())
              self->send(state.running[it->second].actor, replay_atom::value, result.rows);
            result.rows.clear();  // the caller needs the range and count only
            promise.deliver(std::move(result));
          },
          [promise](caf::error& err) mutable { promise.deliver(std::move(err)); });
      return promise;
    },
    [self](tick_atom) {
      if (self->state.shared())
        drop_stale_leases(self);
      if (!self->state.round_running)
        start_round(self);
      self->delayed_send(self, self->state.setup.flush_interval, tick_atom::value);
    },
    [self](lease_atom) {
      run_lease_round(self);
      self->delayed_send(self, self->state.setup.lease / 3, lease_atom::value);
    },
    // At node stop, after the last flush: stops delivering and gives every
    // lease up, so other nodes take the endpoints over at once rather than
    // when the leases run out. Answers once the store took it (or not).
    [self](release_atom) -> caf::result<bool> {
      auto& st = self->state;
      st.released = true;
      if (!st.shared())
        return true;
      lease_request request;
      request.release_all = true;  // also what a round still running may claim
      st.held.clear();
      follow_leases(self);
      auto promise = self->make_response_promise<bool>();
      self->request(st.setup.lease_keeper, actor_timeout, lease_atom::value, std::move(request))
        .then([promise](const lease_grant& grant) mutable { promise.deliver(grant.error.empty()); },
              [promise](caf::error&) mutable { promise.deliver(false); });
      return promise;
    },
    [self](wake_atom, const std::string& id) {  // a failed delivery actor's restart
      auto& st = self->state;
      if (auto ep = st.known.find(id); ep != st.known.end() && st.delivers(ep->second) && !st.number_of.count(id))
        start_endpoint(self, ep->second);
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

delivery_manager_actor spawn_delivery_manager(caf::actor_system& sys, delivery_manager_setup setup) {
  return sys.spawn(manager, std::move(setup));
}

} // namespace evmesh
