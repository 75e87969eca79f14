// The receiving half of the link protocol, per origin node: which frames to
// take (the next one of the current epoch, or the first of a newer epoch),
// which to ignore (older epochs: superseded by a resend) and which reveal a
// gap (ask for a resend, once per epoch). It also remembers how far each
// origin's events have been accepted and stored, so resent events are not
// stored twice, and lets at most one batch per origin be with the store at a
// time: a failed batch can then never be overtaken by a later one that
// succeeds (which would move the cursor past events that are not stored).
// Pure logic, owned by the listener actor.
#pragma once

#include <evmesh/event.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace evmesh::cluster {

enum class frame_verdict {
  accept,   // next in order: store its events
  stale,    // from an older epoch: ignore
  gap,      // a frame is missing: nack (the sender restarts from the cursor)
  repeat,   // a gap already nacked in this epoch: ignore
  unknown,  // no hello from this sender yet: ask it to say hello
};

// Accepted events of one origin on their way to the store, and the last
// frame they came in (acked once they are stored).
struct store_batch {
  uint64_t epoch = 0;
  uint64_t frame_no = 0;
  uint64_t last_seq = 0;  // the highest origin seq of the frames, stored or not
  std::vector<event> events;
};

class inbound_sequencer {
public:
  // Cursors stored durably before this process started (peer_cursors).
  explicit inbound_sequencer(std::map<std::string, uint64_t> durable);

  // A hello: frames of `epoch` start at 0. Forgets the gap state, keeps cursors.
  void on_hello(const std::string& origin, uint64_t epoch);
  frame_verdict on_frame(const std::string& origin, uint64_t epoch, uint64_t frame_no);

  // Whether an event with this origin seq is new; advances the accepted mark.
  bool accept_event(const std::string& origin, uint64_t origin_seq);
  // An accepted frame's new events. Returns the batch to store now when
  // none of this origin is with the store; otherwise it waits, merged with
  // the other waiting frames, for next_store().
  std::optional<store_batch> queue_for_store(const std::string& origin, store_batch frame);
  // After stored(): the frames that waited meanwhile, as one batch.
  std::optional<store_batch> next_store(const std::string& origin);

  // The origin's events up to `origin_seq` are stored.
  void stored(const std::string& origin, uint64_t origin_seq);
  // Storing failed: what was accepted but not stored (also what waited)
  // must be taken again after a new hello.
  void store_failed(const std::string& origin);

  uint64_t durable(const std::string& origin) const;

private:
  struct origin_state {
    bool synced = false;  // a hello was seen
    uint64_t epoch = 0;
    uint64_t next_frame = 0;
    uint64_t nacked_epoch = 0;
    bool nacked = false;
    uint64_t accepted = 0;
    uint64_t durable = 0;
    bool storing = false;                 // a batch is with the store
    std::optional<store_batch> waiting;   // frames that arrived meanwhile
  };
  std::map<std::string, origin_state> origins_;
};

} // namespace evmesh::cluster
