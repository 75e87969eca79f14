// See store_writer.hpp.
#include "actors/store_writer.hpp"

#include "base/log_line.hpp"

namespace evmesh {
namespace {

// A user-declared constructor keeps C++20 from treating the state as an
// aggregate that CAF would try to build from the actor pointer.
struct writer_state {
  writer_state() = default;
  std::shared_ptr<store> db;  // spawn arguments must be copyable; only this actor uses it
  std::shared_ptr<delivery_store> deliveries;
  retention_policy retention;
  std::chrono::milliseconds interval{0};
  store_probe* probe = nullptr;
  caf::actor watcher;  // hears local registry writes
  static inline const char* name = "evmesh.store_writer";
};

using writer_pointer = store_writer_actor::stateful_pointer<writer_state>;

void schedule_retention(writer_pointer self) {
  if (self->state.interval.count() > 0)
    self->delayed_send(self, self->state.interval, retain_atom::value);
}

// The store's health as /healthz and /metrics report it: each store call
// marks it up or down (a down store is logged once, not on every call).
void store_answered(store_probe& probe) {
  if (probe.store_up.exchange(1) == 0)
    log_line() << "evmesh: the store answers again";
}

void store_failed(store_probe& probe, const char* what, const std::exception& e) {
  probe.store_errors.fetch_add(1, std::memory_order_relaxed);
  probe.store_problem.store(std::make_shared<const std::string>(e.what()));
  if (probe.store_up.exchange(0) == 1)
    log_line() << "evmesh: " << what << " failed: " << e.what();
}

// Runs one store call, answering `fallback` when it throws: a failed write
// must not stop the writer (the caller hears of it and tries again).
template <class Fn, class R = std::invoke_result_t<Fn>>
R guarded(store_probe& probe, const char* what, Fn fn, R fallback = R{}) {
  try {
    R out = fn();
    store_answered(probe);
    return out;
  } catch (const std::exception& e) {
    store_failed(probe, what, e);
    return fallback;
  }
}

store_writer_actor::behavior_type writer(writer_pointer self, std::shared_ptr<store> db,
                                         std::shared_ptr<delivery_store> deliveries,
                                         retention_policy retention,
                                         std::chrono::milliseconds interval, store_probe* probe) {
  self->state.db = std::move(db);
  self->state.deliveries = std::move(deliveries);
  self->state.retention = retention;
  self->state.interval = interval;
  self->state.probe = probe;
  schedule_retention(self);
  return {
    [self](append_atom, std::vector<event>& events) -> stored_batch {
      auto& st = self->state;
      stored_batch out;
      auto started = std::chrono::steady_clock::now();
      try {
        out.outcomes = st.db->append(events);
        store_answered(*st.probe);
        if (st.probe->appends_failing.exchange(0) == 1)
          log_line() << "evmesh: store appends succeed again";
      } catch (const std::exception& e) {
        out.error = e.what();
        st.probe->append_problem.store(std::make_shared<const std::string>(e.what()));
        st.probe->appends_failing.store(1);
        store_failed(*st.probe, "store append", e);
      }
      auto took = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - started);
      st.probe->store_batches.fetch_add(1, std::memory_order_relaxed);
      st.probe->store_batch_events.fetch_add(events.size(), std::memory_order_relaxed);
      st.probe->store_append_micros.fetch_add(static_cast<uint64_t>(took.count()),
                                              std::memory_order_relaxed);
      out.events = std::move(events);
      return out;
    },
    [self](put_rec_atom, const registry_record& record) -> bool {
      auto& st = self->state;
      bool stored = guarded(*st.probe, "registry write", [&] {
        st.db->put_record(record);
        return true;
      });
      if (stored && st.watcher && !record.replicated)
        caf::anon_send(st.watcher, put_rec_atom::value, record);
      return stored;
    },
    // After a store failure, checks the store first, so /healthz and
    // /metrics see the recovery even while nothing is published.
    [self](stats_atom) -> store_stats {
      auto& st = self->state;
      if (st.probe->store_up.load() == 0)
        guarded(*st.probe, "store check", [&] {
          st.db->ping();
          return true;
        });
      return st.db->stats();
    },
    [self](watch_atom, caf::actor& watcher) { self->state.watcher = std::move(watcher); },
    [self](dl_open_atom, const std::string& endpoint_id) -> delivery_snapshot {
      auto& st = self->state;
      delivery_snapshot out;
      out.error = "delivery state unavailable";
      return guarded(*self->state.probe, "delivery store open", [&] {
        delivery_snapshot snap;
        snap.cursors = st.deliveries->open_endpoint(endpoint_id, st.db->stats().last_seq);
        snap.pending = st.deliveries->pending(endpoint_id);
        return snap;
      }, out);
    },
    [self](dl_save_atom, const std::vector<endpoint_progress>& progress) -> bool {
      return guarded(*self->state.probe, "delivery store save", [&] {
        self->state.deliveries->save(progress);
        return true;
      });
    },
    [self](dl_close_atom, const std::string& endpoint_id, bool forget) -> bool {
      return guarded(*self->state.probe, "delivery store close", [&] {
        self->state.deliveries->close_endpoint(endpoint_id, forget, now_us());
        return true;
      });
    },
    [self](dl_attempts_atom, const std::string& endpoint_id, uint64_t limit) {
      return guarded(*self->state.probe, "delivery store attempts", [&] { return self->state.deliveries->attempts(endpoint_id, limit); });
    },
    [self](dl_status_atom, const event_ptr& e) -> delivery_status {
      delivery_status failed;
      failed.error = "delivery state unavailable";
      return guarded(*self->state.probe, "delivery store status", [&] {
        auto& delivery = *self->state.deliveries;
        auto [log, seq] = delivery.home_of(*e);
        return delivery_status{seq, delivery.rows_for_seq(log, seq), delivery.cursors(log), {}};
      }, failed);
    },
    [self](dl_replay_atom, const replay_request& req) -> replay_result {
      auto& st = self->state;
      replay_result failed;
      failed.error = "delivery state unavailable";
      return guarded(*self->state.probe, "delivery store replay", [&] {
        replay_result out;
        auto last = st.db->stats().last_seq;
        out.from_seq = req.by_time ? st.deliveries->first_seq_at_or_after(req.since) : static_cast<uint64_t>(req.since);
        out.to_seq = req.until == 0 ? last
                     : req.by_time ? st.deliveries->first_seq_at_or_after(req.until + 1) - 1
                                   : std::min(last, static_cast<uint64_t>(req.until));
        if (out.from_seq > out.to_seq)
          return out;
        out.rows = st.deliveries->queue_replay(req.endpoint_id, req.patterns, out.from_seq, out.to_seq,
                                               req.limit, now_us());
        // `limit` reached: there may be more (replay again from to_seq + 1)
        if (!out.rows.empty() && out.rows.size() == req.limit) {
          out.truncated = true;
          out.to_seq = out.rows.back().e.seq;
        }
        return out;
      }, failed);
    },
    [self](retain_atom) {
      auto& st = self->state;
      try {
        auto policy = st.retention;
        policy.keep_from_seq = st.deliveries->retention_floor();
        auto deleted = st.db->enforce_retention(policy, now_us());
        st.probe->retention_deleted.fetch_add(deleted, std::memory_order_relaxed);
        auto stats = st.db->stats();
        st.deliveries->prune(stats.events == 0 ? stats.last_seq + 1 : stats.first_seq);
        store_answered(*st.probe);
      } catch (const std::exception& e) {
        store_failed(*st.probe, "retention", e);
      }
      schedule_retention(self);
    },
  };
}

} // namespace

store_writer_actor spawn_store_writer(caf::actor_system& sys, std::unique_ptr<store> db,
                                      std::unique_ptr<delivery_store> deliveries,
                                      retention_policy retention,
                                      std::chrono::milliseconds retention_interval,
                                      store_probe& probe) {
  return sys.spawn<caf::detached>(writer, std::shared_ptr<store>(std::move(db)),
                                  std::shared_ptr<delivery_store>(std::move(deliveries)), retention,
                                  retention_interval, &probe);
}

} // namespace evmesh
