// See store_writer.hpp.
#include "actors/store_writer.hpp"

#include <iostream>

namespace evmesh {
namespace {

// A user-declared constructor keeps C++20 from treating the state as an
// aggregate that CAF would try to build from the actor pointer.
struct writer_state {
  writer_state() = default;
  std::shared_ptr<store> db;  // spawn arguments must be copyable; only this actor uses it
  retention_policy retention;
  std::chrono::milliseconds interval{0};
  metrics* probe = nullptr;
  caf::actor watcher;  // hears local registry writes
  static inline const char* name = "evmesh.store_writer";
};

using writer_pointer = store_writer_actor::stateful_pointer<writer_state>;

void schedule_retention(writer_pointer self) {
  if (self->state.interval.count() > 0)
    self->delayed_send(self, self->state.interval, retain_atom::value);
}

store_writer_actor::behavior_type writer(writer_pointer self, std::shared_ptr<store> db,
                                         retention_policy retention,
                                         std::chrono::milliseconds interval, metrics* probe) {
  self->state.db = std::move(db);
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
      } catch (const std::exception& e) {
        out.error = e.what();
        std::cerr << "evmesh: store append failed: " << e.what() << std::endl;
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
      try {
        self->state.db->put_record(record);
        if (self->state.watcher && !record.replicated)
          caf::anon_send(self->state.watcher, put_rec_atom::value, record);
        return true;
      } catch (const std::exception& e) {
        std::cerr << "evmesh: registry write failed: " << e.what() << std::endl;
        return false;
      }
    },
    [self](stats_atom) -> store_stats { return self->state.db->stats(); },
    [self](watch_atom, caf::actor& watcher) { self->state.watcher = std::move(watcher); },
    [self](retain_atom) {
      auto& st = self->state;
      try {
        auto deleted = st.db->enforce_retention(st.retention, now_us());
        st.probe->retention_deleted.fetch_add(deleted, std::memory_order_relaxed);
      } catch (const std::exception& e) {
        std::cerr << "evmesh: retention failed: " << e.what() << std::endl;
      }
      schedule_retention(self);
    },
  };
}

} // namespace

store_writer_actor spawn_store_writer(caf::actor_system& sys, std::unique_ptr<store> db,
                                      retention_policy retention,
                                      std::chrono::milliseconds retention_interval,
                                      metrics& probe) {
  return sys.spawn<caf::detached>(writer, std::shared_ptr<store>(std::move(db)), retention,
                                  retention_interval, &probe);
}

} // namespace evmesh
