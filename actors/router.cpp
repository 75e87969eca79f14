// See router.hpp.
#include "actors/router.hpp"

#include "model/subscription_trie.hpp"

#include <evmesh/topic.hpp>

#include <chrono>
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

// The webhook side: its endpoints share the subscribers' trie under keys
// with the top bit set, so one match per event decides both.
constexpr subscriber_id endpoint_key_bit = uint64_t{1} << 63;
constexpr uint64_t webhook_queue_limit = uint64_t{1} << 20;

struct webhook_entry {
  webhook_feed_actor feed;
  std::unordered_map<uint64_t, std::vector<std::string>> patterns;  // by endpoint number
  uint64_t outstanding = 0;  // delivered, not yet acknowledged
  bool dropping = false;     // told the feed it overflowed, nothing accepted since
  webhook_batch batch;       // being assembled for the current route
  std::unordered_map<uint64_t, std::size_t> slot;  // endpoint number → index in batch.endpoints
};

// A peer node's link and the patterns the peer wants.
struct peer_entry {
  caf::actor link;
  std::vector<std::string> patterns;
  std::vector<event_ptr> batch;  // being assembled for the current route
};

// A user-declared constructor keeps C++20 from treating the state as an
// aggregate that CAF would try to build from the actor pointer.
struct router_state {
  router_state() = default;
  subscription_trie trie;
  std::unordered_map<subscriber_id, subscriber_entry> subscribers;
  std::vector<subscriber_id> matched;  // scratch
  subscription_trie peer_trie;         // ids index `peers`
  std::unordered_map<uint64_t, peer_entry> peers;
  std::unordered_map<std::string, uint64_t> peer_ids;
  std::unordered_map<std::string, std::size_t> pattern_users;  // local interest
  webhook_entry webhooks;
  caf::actor watcher;
  bool interest_changed = false;  // since the watcher last heard the set
  bool interest_timer = false;    // an interest_interval is running
  routing_probe* probe = nullptr;
  static inline const char* name = "evmesh.router";

  void remove(subscriber_id id) {
    auto it = subscribers.find(id);
    if (it == subscribers.end())
      return;
    bool changed = false;
    for (const auto& pattern : it->second.patterns) {
      trie.erase(pattern, id);
      if (--pattern_users[pattern] == 0) {
        pattern_users.erase(pattern);
        changed = true;
      }
    }
    subscribers.erase(it);
    interest_changed |= changed;
  }

  void send_interest() {
    std::vector<std::string> patterns;
    patterns.reserve(pattern_users.size());
    for (const auto& [pattern, users] : pattern_users)
      patterns.push_back(pattern);
    caf::anon_send(watcher, interest_atom::value, std::move(patterns));
  }

  void set_peer(const std::string& peer_name, std::vector<std::string> patterns, caf::actor link) {
    auto id = peer_ids.emplace(peer_name, peer_ids.size() + 1).first->second;
    auto& entry = peers[id];
    for (const auto& pattern : entry.patterns)
      peer_trie.erase(pattern, id);
    entry.link = std::move(link);
    entry.patterns = std::move(patterns);
    for (const auto& pattern : entry.patterns)
      peer_trie.insert(pattern, id);
  }

  // Routes the endpoint's events by these patterns from now on (the
  // cluster learns the endpoints' patterns from the registry, not here).
  void set_endpoint(uint64_t number, std::vector<std::string> patterns, webhook_feed_actor feed) {
    auto key = number | endpoint_key_bit;
    auto& known = webhooks.patterns[number];
    for (const auto& pattern : known)
      trie.erase(pattern, key);
    known = std::move(patterns);
    for (const auto& pattern : known)
      trie.insert(pattern, key);
    if (known.empty())
      webhooks.patterns.erase(number);
    webhooks.feed = std::move(feed);
  }

  void add_to_webhooks(uint64_t key, const event_ptr& e) {
    auto number = key & ~endpoint_key_bit;
    auto [slot, added] = webhooks.slot.emplace(number, webhooks.batch.endpoints.size());
    if (added)
      webhooks.batch.endpoints.push_back({number, {}});
    webhooks.batch.endpoints[slot->second].events.push_back(e);
  }

  // Hands the feed the batch assembled for this route, unless that puts it
  // over its queue limit: then the batch is dropped and the feed told once.
  void send_webhooks() {
    auto& w = webhooks;
    auto batch = std::move(w.batch);
    w.batch = {};
    w.slot.clear();
    uint64_t count = 0;
    for (const auto& part : batch.endpoints)
      count += part.events.size();
    if (w.outstanding + count > webhook_queue_limit) {
      if (!w.dropping)
        caf::anon_send(w.feed, overflow_atom::value,
                       "webhook delivery fell " + std::to_string(w.outstanding + count) +
                         " events behind, over its queue limit of " + std::to_string(webhook_queue_limit));
      w.dropping = true;
      return;
    }
    w.dropping = false;
    w.outstanding += count;
    probe->deliveries.fetch_add(count, std::memory_order_relaxed);
    caf::anon_send(w.feed, deliver_atom::value, std::move(batch));
  }

  // Events published here go to every peer that wants them (events that
  // came from a peer are not passed on: every node links to every other).
  void forward_to_peers(const std::vector<event_ptr>& events) {
    if (peers.empty())
      return;
    std::vector<uint64_t> touched;
    for (const auto& e : events) {
      if (!e->origin.empty())
        continue;
      peer_trie.match(e->topic, matched);
      for (auto id : matched) {
        auto& entry = peers[id];
        if (entry.batch.empty())
          touched.push_back(id);
        entry.batch.push_back(e);
      }
    }
    for (auto id : touched) {
      auto& entry = peers[id];
      caf::anon_send(entry.link, forward_atom::value, std::move(entry.batch));
      entry.batch.clear();
    }
  }
};

using router_pointer = router_actor::stateful_pointer<router_state>;

// Tells the watcher the set of local patterns when it changed: at once after
// a quiet spell, then at most once per interval. A burst of N subscriptions
// costs a few copies of the set, not N copies of a growing set (which took
// gigabytes for thousands of distinct patterns, issue 19).
constexpr auto interest_interval = std::chrono::milliseconds(50);

void announce_interest(router_pointer self) {
  auto& st = self->state;
  if (!st.interest_changed || st.interest_timer || !st.watcher)
    return;
  st.interest_changed = false;
  st.send_interest();
  st.interest_timer = true;
  self->delayed_send(self, interest_interval, interest_atom::value);
}

router_actor::behavior_type router(router_pointer self, routing_probe* probe) {
  self->state.probe = probe;
  return {
    [self](route_atom, const std::vector<event_ptr>& events) {
      auto& st = self->state;
      st.forward_to_peers(events);
      bool to_webhooks = false;
      std::vector<subscriber_id> touched;
      for (const auto& e : events) {
        if (is_registry_topic(e->topic)) {
          if (!e->origin.empty() && st.watcher)
            caf::anon_send(st.watcher, put_rec_atom::value, e);
          continue;
        }
        if (!st.webhooks.patterns.empty()) {
          to_webhooks = true;
          st.webhooks.batch.routed_upto = std::max(st.webhooks.batch.routed_upto, e->seq);
        }
        st.trie.match(e->topic, st.matched);
        if (st.matched.empty())
          continue;
        st.probe->events_routed.fetch_add(1, std::memory_order_relaxed);
        for (auto id : st.matched) {
          if (id & endpoint_key_bit) {
            st.add_to_webhooks(id, e);
            continue;
          }
          auto& entry = st.subscribers[id];
          if (entry.batch.empty())
            touched.push_back(id);
          entry.batch.push_back(e);
        }
      }
      if (to_webhooks)
        st.send_webhooks();
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
      announce_interest(self);  // dropped subscribers
    },
    [self](subscribe_atom, subscriber_id id, const std::string& pattern, const caf::actor& actor,
           uint64_t queue_limit) {
      auto& st = self->state;
      auto& entry = st.subscribers[id];
      entry.actor = actor;
      entry.queue_limit = queue_limit;
      if (!entry.patterns.insert(pattern).second)
        return;
      st.trie.insert(pattern, id);
      if (++st.pattern_users[pattern] == 1) {
        st.interest_changed = true;
        announce_interest(self);
      }
    },
    [self](peer_atom, const std::string& name, std::vector<std::string>& patterns,
           caf::actor& link) { self->state.set_peer(name, std::move(patterns), std::move(link)); },
    [self](watch_atom, caf::actor& watcher) {
      self->state.watcher = std::move(watcher);
      self->state.interest_changed = true;
      announce_interest(self);
    },
    [self](interest_atom) {
      self->state.interest_timer = false;
      announce_interest(self);
    },
    [self](unsub_atom, subscriber_id id) {
      self->state.remove(id);
      announce_interest(self);
    },
    [self](consumed_atom, subscriber_id id, uint64_t count) {
      auto it = self->state.subscribers.find(id);
      if (it != self->state.subscribers.end())
        it->second.outstanding -= std::min(count, it->second.outstanding);
    },
    [self](ep_route_atom, uint64_t number, std::vector<std::string>& patterns, webhook_feed_actor& feed) {
      self->state.set_endpoint(number, std::move(patterns), std::move(feed));
    },
    [self](consumed_atom, uint64_t count) {
      auto& w = self->state.webhooks;
      w.outstanding -= std::min(count, w.outstanding);
    },
  };
}

} // namespace

router_actor spawn_router(caf::actor_system& sys, routing_probe& probe) {
  return sys.spawn(router, &probe);
}

} // namespace evmesh
