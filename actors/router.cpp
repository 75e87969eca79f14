// See router.hpp.
#include "actors/router.hpp"

#include "actors/subscription_trie.hpp"

#include <unordered_map>
#include <unordered_set>

namespace evmesh {
namespace {

struct subscriber_entry {
  caf::actor actor;
  uint64_t queue_limit = 0;
  uint64_t outstanding = 0;  // delivered, not yet acknowledged
  std::unordered_set<std::string> patterns;
  std::vector<event_ptr> batch;  // being assembled for the current route
};

// A user-declared constructor keeps C++20 from treating the state as an
// aggregate that CAF would try to build from the actor pointer.
struct router_state {
  router_state() = default;
  subscription_trie trie;
  std::unordered_map<subscriber_id, subscriber_entry> subscribers;
  std::vector<subscriber_id> matched;  // scratch
  metrics* probe = nullptr;
  static inline const char* name = "evmesh.router";

  void remove(subscriber_id id) {
    auto it = subscribers.find(id);
    if (it == subscribers.end())
      return;
    for (const auto& pattern : it->second.patterns)
      trie.erase(pattern, id);
    subscribers.erase(it);
  }
};

using router_pointer = router_actor::stateful_pointer<router_state>;

router_actor::behavior_type router(router_pointer self, metrics* probe) {
  self->state.probe = probe;
  return {
    [self](route_atom, const std::vector<event_ptr>& events) {
      auto& st = self->state;
      std::vector<subscriber_id> touched;
      for (const auto& e : events) {
        st.trie.match(e->topic, st.matched);
        if (st.matched.empty())
          continue;
        st.probe->events_routed.fetch_add(1, std::memory_order_relaxed);
        for (auto id : st.matched) {
          auto& entry = st.subscribers[id];
          if (entry.batch.empty())
            touched.push_back(id);
          entry.batch.push_back(e);
        }
      }
      for (auto id : touched) {
        auto& entry = st.subscribers[id];
        auto batch = std::move(entry.batch);
        entry.batch.clear();
        if (entry.outstanding + batch.size() > entry.queue_limit) {
          caf::anon_send(entry.actor, overflow_atom::value,
                     "subscriber fell " + std::to_string(entry.outstanding + batch.size()) +
                       " events behind, over its queue limit of " +
                       std::to_string(entry.queue_limit));
          st.probe->subscribers_dropped.fetch_add(1, std::memory_order_relaxed);
          st.remove(id);
          continue;
        }
        entry.outstanding += batch.size();
        st.probe->deliveries.fetch_add(batch.size(), std::memory_order_relaxed);
        caf::anon_send(entry.actor, deliver_atom::value, std::move(batch));
      }
    },
    [self](subscribe_atom, subscriber_id id, const std::string& pattern, const caf::actor& actor,
           uint64_t queue_limit) {
      auto& entry = self->state.subscribers[id];
      entry.actor = actor;
      entry.queue_limit = queue_limit;
      entry.patterns.insert(pattern);
      self->state.trie.insert(pattern, id);
    },
    [self](unsub_atom, subscriber_id id) { self->state.remove(id); },
    [self](consumed_atom, subscriber_id id, uint64_t count) {
      auto it = self->state.subscribers.find(id);
      if (it != self->state.subscribers.end())
        it->second.outstanding -= std::min(count, it->second.outstanding);
    },
  };
}

} // namespace

router_actor spawn_router(caf::actor_system& sys, metrics& probe) {
  return sys.spawn(router, &probe);
}

} // namespace evmesh
