// What one link owes its peer: every event published on this node whose
// topic the peer wants, in log order, each until the peer says it is stored.
// Pure logic (no sockets, no store): the link actor feeds it live events,
// scan pages and acks, and does what it asks (send a frame, scan the store).
//
// Memory stays bounded whatever the peer does: the window holds only frame
// numbers (a resend reads the store again), live events wait in a bounded
// tail, and when the tail overflows or the stream restarts, the gap is read
// back from the store instead of being kept in memory.
#pragma once

#include "cluster/detail/frame.hpp"

#include <evmesh/event.hpp>

#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

namespace evmesh::cluster {

struct stream_limits {
  std::size_t window_frames = 32;   // frames sent and not yet acknowledged
  std::size_t frame_events = 1024;  // events per frame at most
  std::size_t tail_events = 16384;  // live events held while the peer is behind
  std::size_t frame_bytes = 4u << 20;  // payload per frame at most (one event may exceed it)
};

// A frame ready to go out.
struct outgoing_events {
  uint64_t epoch = 0;
  uint64_t frame_no = 0;
  std::vector<event_ptr> events;
};

class outbound_stream {
public:
  outbound_stream(stream_limits limits, uint64_t first_epoch);

  // (Re)starts in a new epoch from the peer's durable cursor: the window is
  // forgotten and everything after the cursor is read from the store again.
  void restart(uint64_t cursor);
  bool started() const { return started_; }

  // Local events the peer wants, in log order (from the router).
  void on_live(const std::vector<event_ptr>& events);
  // A page of the store scan that next_scan() asked for.
  void on_scan(std::vector<event> events, uint64_t scanned_to, bool at_end);
  void on_ack(const ack_frame& ack);
  // true when the nack restarted the stream (it was for the current epoch).
  bool on_nack(const nack_frame& nack);

  // The next frame to send, if the window has room and events are ready.
  std::optional<outgoing_events> next_frame();
  // After which seq the store must be scanned, if events are missing from
  // memory and the window has room for them.
  std::optional<uint64_t> next_scan() const;

  uint64_t epoch() const { return epoch_; }
  uint64_t acked() const { return acked_; }      // the peer's durable cursor
  uint64_t covered() const { return covered_; }  // everything wanted up to here is sent or queued
  std::size_t in_flight() const { return window_.size(); }
  std::size_t queued() const { return ready_.size() + tail_.size(); }

private:
  bool tail_complete() const { return !missing_open_ && missing_upto_ <= covered_; }
  void drop_covered_tail();

  stream_limits limits_;
  bool started_ = false;
  uint64_t epoch_;
  uint64_t next_frame_no_ = 0;
  uint64_t acked_ = 0;
  uint64_t covered_ = 0;
  std::deque<uint64_t> window_;      // frame numbers in flight, ascending
  std::deque<event_ptr> ready_;      // read from the store, to send first
  std::deque<event_ptr> tail_;       // live events after covered_
  uint64_t missing_upto_ = 0;        // tail may lack events up to here
  bool missing_open_ = false;        // ... or up to an unknown point: scan to the end
};

} // namespace evmesh::cluster
