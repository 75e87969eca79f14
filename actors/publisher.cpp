// See publisher.hpp.
#include "actors/publisher.hpp"

#include <deque>

namespace evmesh {

namespace {

// One caller's request waiting for its batch to become durable.
struct waiting_request {
  std::size_t count = 0;  // its events, consecutive in the batch
  publish_callback reply;
};

// A user-declared constructor keeps C++20 from treating the state as an
// aggregate that CAF would try to build from the actor pointer.
struct publisher_state {
  publisher_state() = default;
  store_writer_actor writer;
  router_actor router;
  std::size_t max_batch = 4096;
  store_probe* probe = nullptr;
  std::vector<event> pending;            // stamped, not yet sent to the writer
  std::deque<waiting_request> waiting;   // callers of `pending`, in order
  bool writing = false;                  // a batch is at the writer
  std::vector<caf::response_promise> flushes;  // answered when idle
  static inline const char* name = "evmesh.publisher";
};

using publisher_pointer = publisher_actor::stateful_pointer<publisher_state>;

void answer(std::vector<waiting_request>& callers, const stored_batch& stored) {
  std::size_t at = 0;
  for (auto& caller : callers) {
    publish_reply reply;
    if (!stored.error.empty()) {
      reply.error = stored.error;
    } else {
      reply.acks.reserve(caller.count);
      for (std::size_t i = 0; i < caller.count; ++i, ++at) {
        const auto& outcome = stored.outcomes[at];
        reply.acks.push_back({stored.events[at].id, outcome.seq, outcome.duplicate});
      }
    }
    caller.reply(std::move(reply));
  }
}

void write_next_batch(publisher_pointer self) {
  auto& st = self->state;
  if (st.writing)
    return;
  if (st.pending.empty()) {
    for (auto& promise : st.flushes)
      promise.deliver(true);
    st.flushes.clear();
    return;
  }
  // Take whole requests until the batch is full (a request is never split,
  // so each caller's events commit together).
  // Both the reply and the error handler need the callers: share them.
  auto callers = std::make_shared<std::vector<waiting_request>>();
  std::size_t events = 0;
  while (!st.waiting.empty() && (events == 0 || events + st.waiting.front().count <= st.max_batch)) {
    events += st.waiting.front().count;
    callers->push_back(std::move(st.waiting.front()));
    st.waiting.pop_front();
  }
  std::vector<event> batch;
  if (events == st.pending.size()) {
    batch = std::move(st.pending);
    st.pending.clear();
  } else {
    auto split = st.pending.begin() + static_cast<std::ptrdiff_t>(events);
    batch.assign(std::make_move_iterator(st.pending.begin()), std::make_move_iterator(split));
    st.pending.erase(st.pending.begin(), split);
  }
  st.writing = true;
  self->request(st.writer, caf::infinite, append_atom::value, std::move(batch))
    .then(
      [self, callers](stored_batch& stored) {
        auto& state = self->state;
        state.writing = false;
        if (!stored.error.empty()) {
          state.probe->publish_errors.fetch_add(stored.events.size(), std::memory_order_relaxed);
          answer(*callers, stored);
          write_next_batch(self);
          return;
        }
        answer(*callers, stored);
        std::vector<event_ptr> fresh;
        fresh.reserve(stored.events.size());
        for (std::size_t i = 0; i < stored.events.size(); ++i) {
          if (stored.outcomes[i].duplicate)
            continue;
          fresh.push_back(std::make_shared<const event>(std::move(stored.events[i])));
        }
        auto duplicates = stored.events.size() - fresh.size();
        state.probe->events_published.fetch_add(fresh.size(), std::memory_order_relaxed);
        state.probe->events_duplicate.fetch_add(duplicates, std::memory_order_relaxed);
        if (!fresh.empty())
          self->send(state.router, route_atom::value, std::move(fresh));
        write_next_batch(self);
      },
      [self, callers](caf::error& err) {
        // The writer is gone (the node is stopping): nothing was stored.
        self->state.writing = false;
        stored_batch failed;
        failed.error = "store unavailable: " + caf::to_string(err);
        answer(*callers, failed);
      });
}

// Queues one caller's events for the next batch.
void enqueue(publisher_pointer self, std::vector<event>& events, publish_callback reply) {
  if (events.empty()) {
    reply(publish_reply{});
    return;
  }
  auto& st = self->state;
  for (auto& e : events)
    st.pending.push_back(std::move(e));
  st.waiting.push_back({events.size(), std::move(reply)});
  write_next_batch(self);
}

publisher_actor::behavior_type publisher(publisher_pointer self, store_writer_actor writer,
                                         router_actor router, std::size_t max_batch,
                                         store_probe* probe) {
  auto& st = self->state;
  st.writer = std::move(writer);
  st.router = std::move(router);
  st.max_batch = std::max<std::size_t>(1, max_batch);
  st.probe = probe;
  return {
    [self](publish_atom, std::vector<event>& drafts, publish_callback& reply) {
      auto now = now_us();
      for (auto& e : drafts) {
        if (e.id.empty())
          e.id = make_event_id();
        e.time_us = now;
        e.seq = 0;
      }
      enqueue(self, drafts, std::move(reply));
    },
    [self](ingest_atom, std::vector<event>& received, publish_callback& reply) {
      enqueue(self, received, std::move(reply));
    },
    [self](flush_atom) -> caf::result<bool> {
      auto promise = self->make_response_promise<bool>();
      self->state.flushes.push_back(promise);
      write_next_batch(self);
      return promise;
    },
  };
}

} // namespace

publisher_actor spawn_publisher(caf::actor_system& sys, store_writer_actor writer,
                                router_actor router, std::size_t max_batch_events,
                                store_probe& probe) {
  return sys.spawn(publisher, std::move(writer), std::move(router), max_batch_events, &probe);
}

} // namespace evmesh
