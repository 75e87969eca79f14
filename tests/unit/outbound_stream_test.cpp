// Tests of the sending half of the link protocol (cluster/detail/outbound_stream),
// driven the way a link drives it: a tiny fake store answers next_scan() with
// pages (at most N events, a scanned_to resume cursor, at_end), live events
// arrive from the "router" after they are committed, acks and nacks come back
// from a receiver modelled with the real inbound_sequencer.
//
// Properties: after restart(cursor) every wanted event after the cursor is sent
// exactly once per epoch, in seq order; never more than window_frames in
// flight; acks free the window; a nack of the current epoch restarts from
// max(acked, cursor) in a new epoch with frame numbers from 0; acks and nacks
// of old epochs leave the window alone; an overflowing live tail loses nothing
// (the gap is read from the store); live events racing a scan are neither lost
// nor duplicated. A seeded randomized run mixes all of it, with lost messages,
// timeouts, re-hellos and failed stores, and checks the receiver ends with
// every event exactly once and in order.
#include "cluster/detail/inbound_sequencer.hpp"
#include "cluster/detail/outbound_stream.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <variant>
#include <vector>

namespace {

using namespace evmesh::cluster;
using evmesh::event;
using evmesh::event_ptr;

bool wanted(const std::string& topic) { return topic.rfind("orders.", 0) == 0; }

// The node's log: local events (no origin) and events received from peers.
class fake_store {
public:
  // Appends a local event; returns it.
  event_ptr commit(const std::string& topic) {
    event e;
    e.seq = log_.size() + 1;
    e.id = "e" + std::to_string(e.seq);
    e.topic = topic;
    e.data = "{}";
    log_.push_back(e);
    return std::make_shared<const event>(e);
  }
  // An event received from another node: in the log, never shipped by this link.
  void commit_remote(uint64_t origin_seq) {
    event e;
    e.seq = log_.size() + 1;
    e.id = "r" + std::to_string(e.seq);
    e.topic = "orders.remote";
    e.origin = "peer-z";
    e.origin_seq = origin_seq;
    log_.push_back(e);
  }

  struct page {
    std::vector<event> events;
    uint64_t scanned_to = 0;
    bool at_end = false;
  };

  // Like store::scan_local: local events after `after` whose topic is wanted,
  // at most `limit`, examining at most `max_scanned` local rows. at_end is
  // exact, or with `conservative` false whenever a limit stopped the page (as
  // SQLite's scan reports it).
  page scan(uint64_t after, std::size_t limit, std::size_t max_scanned,
            bool conservative = false) const {
    page p;
    p.scanned_to = after;
    std::size_t examined = 0;
    for (const auto& e : log_) {
      if (e.seq <= after || !e.origin.empty())
        continue;
      if (examined == max_scanned || p.events.size() == limit)
        break;
      ++examined;
      p.scanned_to = e.seq;
      if (wanted(e.topic))
        p.events.push_back(e);
    }
    const bool stopped_early = p.events.size() == limit || examined == max_scanned;
    p.at_end = !(conservative && stopped_early) && !local_after(p.scanned_to);
    return p;
  }

  // The wanted local events after `after`, in order: what the peer is owed.
  std::vector<uint64_t> owed(uint64_t after) const {
    std::vector<uint64_t> out;
    for (const auto& e : log_)
      if (e.seq > after && e.origin.empty() && wanted(e.topic))
        out.push_back(e.seq);
    return out;
  }

  uint64_t last_seq() const { return log_.size(); }

private:
  bool local_after(uint64_t seq) const {
    for (const auto& e : log_)
      if (e.seq > seq && e.origin.empty())
        return true;
    return false;
  }

  std::vector<event> log_;
};

std::vector<uint64_t> seqs_of(const std::vector<event_ptr>& events) {
  std::vector<uint64_t> out;
  for (const auto& e : events)
    out.push_back(e->seq);
  return out;
}

std::vector<uint64_t> range(uint64_t from, uint64_t to) {
  std::vector<uint64_t> out;
  for (uint64_t s = from; s <= to; ++s)
    out.push_back(s);
  return out;
}

// Drives a stream like a link's pump: frames while it has them, scans when
// it asks; optionally acks every frame at once. Bounded.
struct driver {
  outbound_stream& stream;
  fake_store& store;
  std::size_t page = 1024;
  std::size_t max_scanned = 50000;
  std::vector<outgoing_events> frames;
  int scans = 0;

  void pump(bool ack_each = false) {
    for (int step = 0; step < 100000; ++step) {
      if (auto out = stream.next_frame()) {
        EXPECT_FALSE(out->events.empty());
        if (ack_each)
          stream.on_ack({out->epoch, out->frame_no, out->events.back()->seq});
        frames.push_back(std::move(*out));
        continue;
      }
      if (auto after = stream.next_scan()) {
        ++scans;
        auto p = store.scan(*after, page, max_scanned);
        stream.on_scan(std::move(p.events), p.scanned_to, p.at_end);
        continue;
      }
      return;
    }
    ADD_FAILURE() << "the stream never ran out of work";
  }

  std::vector<uint64_t> sent() const {
    std::vector<uint64_t> out;
    for (const auto& f : frames)
      for (const auto& e : f.events)
        out.push_back(e->seq);
    return out;
  }
};

// --- deterministic properties ----------------------------------------------------

TEST(outbound_stream, not_started_it_sends_and_scans_nothing) {
  outbound_stream s{{}, 1};
  fake_store store;
  s.on_live({store.commit("orders.a")});
  EXPECT_FALSE(s.started());
  EXPECT_FALSE(s.next_frame());
  EXPECT_FALSE(s.next_scan());
  EXPECT_FALSE(s.on_nack({1, 0}));
  EXPECT_EQ(s.epoch(), 1u);
}

TEST(outbound_stream, restart_sends_every_wanted_event_after_the_cursor_once_in_order) {
  fake_store store;
  for (int i = 0; i < 60; ++i) {
    store.commit(i % 3 == 0 ? "audit.x" : "orders.a");
    if (i % 7 == 0)
      store.commit_remote(static_cast<uint64_t>(i));
  }
  for (std::size_t page : {1u, 2u, 5u, 1000u})
    for (std::size_t max_scanned : {1u, 3u, 50000u}) {
      SCOPED_TRACE("page " + std::to_string(page) + ", max_scanned " + std::to_string(max_scanned));
      outbound_stream s{{4, 3, 16}, 7};
      s.restart(20);
      EXPECT_TRUE(s.started());
      EXPECT_EQ(s.epoch(), 7u);  // the first start keeps the first epoch
      EXPECT_EQ(s.acked(), 20u);
      driver d{s, store, page, max_scanned};
      d.pump(/*ack_each=*/true);
      EXPECT_EQ(d.sent(), store.owed(20));
      for (std::size_t i = 0; i < d.frames.size(); ++i) {
        EXPECT_EQ(d.frames[i].epoch, 7u);
        EXPECT_EQ(d.frames[i].frame_no, i);
        EXPECT_LE(d.frames[i].events.size(), 3u);
      }
      EXPECT_EQ(s.in_flight(), 0u);
      EXPECT_EQ(s.queued(), 0u);
      EXPECT_FALSE(s.next_scan());
      EXPECT_EQ(s.acked(), store.owed(0).back());
    }
}

TEST(outbound_stream, a_cursor_at_the_end_sends_nothing) {
  fake_store store;
  for (int i = 0; i < 5; ++i)
    store.commit("orders.a");
  outbound_stream s{{}, 1};
  s.restart(5);
  driver d{s, store};
  d.pump();
  EXPECT_TRUE(d.frames.empty());
  EXPECT_EQ(d.scans, 1);
  EXPECT_FALSE(s.next_scan());
  EXPECT_EQ(s.covered(), 5u);
}

TEST(outbound_stream, the_window_bound_holds_and_acks_free_it) {
  fake_store store;
  for (int i = 0; i < 40; ++i)
    store.commit("orders.a");
  outbound_stream s{{3, 2, 100}, 1};
  s.restart(0);
  driver d{s, store, 2};
  d.pump();
  // Three frames of two events, then the window is full: no frame, no scan.
  ASSERT_EQ(d.frames.size(), 3u);
  EXPECT_EQ(s.in_flight(), 3u);
  EXPECT_EQ(d.sent(), range(1, 6));
  EXPECT_FALSE(s.next_frame());
  EXPECT_FALSE(s.next_scan());

  // An ack of frame 0 frees one slot.
  s.on_ack({1, 0, 2});
  EXPECT_EQ(s.in_flight(), 2u);
  EXPECT_EQ(s.acked(), 2u);
  d.pump();
  ASSERT_EQ(d.frames.size(), 4u);
  EXPECT_EQ(d.frames[3].frame_no, 3u);
  EXPECT_EQ(s.in_flight(), 3u);
  EXPECT_FALSE(s.next_frame());

  // Acks are cumulative: frame 3 acknowledges 1..3.
  s.on_ack({1, 3, 8});
  EXPECT_EQ(s.in_flight(), 0u);
  EXPECT_EQ(s.acked(), 8u);
  // A repeated or older ack changes nothing.
  s.on_ack({1, 2, 6});
  EXPECT_EQ(s.acked(), 8u);
  EXPECT_EQ(s.in_flight(), 0u);

  // Never more than the window, whatever is pending.
  for (int round = 0; round < 20 && (s.queued() > 0 || s.next_scan()); ++round) {
    d.pump();
    EXPECT_LE(s.in_flight(), 3u);
    s.on_ack({1, d.frames.back().frame_no, d.frames.back().events.back()->seq});
  }
  EXPECT_EQ(d.sent(), range(1, 40));
}

TEST(outbound_stream, a_nack_of_the_current_epoch_restarts_from_max_of_acked_and_cursor) {
  fake_store store;
  for (int i = 0; i < 30; ++i)
    store.commit("orders.a");
  outbound_stream s{{4, 2, 100}, 10};
  s.restart(0);
  driver d{s, store, 2};
  d.pump();
  ASSERT_EQ(d.frames.size(), 4u);  // 1..8 in flight
  s.on_ack({10, 1, 4});            // frames 0, 1 stored
  EXPECT_EQ(s.acked(), 4u);

  // The receiver saw a gap; its cursor (3) is behind what was acked (4).
  EXPECT_TRUE(s.on_nack({10, 3}));
  EXPECT_EQ(s.epoch(), 11u);
  EXPECT_EQ(s.acked(), 4u);
  EXPECT_EQ(s.in_flight(), 0u);
  d.frames.clear();
  d.pump();
  ASSERT_FALSE(d.frames.empty());
  EXPECT_EQ(d.frames[0].epoch, 11u);
  EXPECT_EQ(d.frames[0].frame_no, 0u);
  EXPECT_EQ(d.frames[1].frame_no, 1u);
  EXPECT_EQ(d.sent(), range(5, 12));

  // A nack whose cursor is ahead of what was acked wins.
  EXPECT_TRUE(s.on_nack({11, 9}));
  EXPECT_EQ(s.epoch(), 12u);
  EXPECT_EQ(s.acked(), 9u);
  d.frames.clear();
  d.pump();
  ASSERT_FALSE(d.frames.empty());
  EXPECT_EQ(d.frames[0].frame_no, 0u);
  EXPECT_EQ(d.sent(), range(10, 17));
}

TEST(outbound_stream, acks_and_nacks_of_old_epochs_leave_the_window_alone) {
  fake_store store;
  for (int i = 0; i < 30; ++i)
    store.commit("orders.a");
  outbound_stream s{{2, 1, 100}, 1};
  s.restart(0);
  driver d{s, store, 1};
  d.pump();
  ASSERT_EQ(s.in_flight(), 2u);
  s.restart(0);  // e.g. an ack timeout
  ASSERT_EQ(s.epoch(), 2u);
  d.pump();
  ASSERT_EQ(s.in_flight(), 2u);

  // An ack of epoch 1 frame 1: the cursor is news, the frame number is not.
  s.on_ack({1, 1, 2});
  EXPECT_EQ(s.acked(), 2u);
  EXPECT_EQ(s.in_flight(), 2u);
  EXPECT_FALSE(s.next_frame());
  // A nack of epoch 1: ignored, no new epoch.
  EXPECT_FALSE(s.on_nack({1, 0}));
  EXPECT_EQ(s.epoch(), 2u);
  EXPECT_EQ(s.in_flight(), 2u);
  EXPECT_EQ(s.acked(), 2u);
  // A nack from the future is not the current epoch either.
  EXPECT_FALSE(s.on_nack({3, 0}));
  EXPECT_EQ(s.epoch(), 2u);
  // An ack of the current epoch does free it.
  s.on_ack({2, 0, 1});
  EXPECT_EQ(s.in_flight(), 1u);
  EXPECT_EQ(s.acked(), 2u);  // never moves back
}

TEST(outbound_stream, each_restart_is_a_new_epoch_with_frames_from_zero) {
  fake_store store;
  for (int i = 0; i < 10; ++i)
    store.commit("orders.a");
  outbound_stream s{{8, 3, 100}, 100};
  driver d{s, store, 3};
  for (uint64_t round = 0; round < 5; ++round) {
    s.restart(round);
    EXPECT_EQ(s.epoch(), 100 + round);
    EXPECT_EQ(s.acked(), round);
    EXPECT_EQ(s.in_flight(), 0u);
    d.frames.clear();
    d.pump();
    EXPECT_EQ(d.sent(), range(round + 1, 10));
    for (std::size_t i = 0; i < d.frames.size(); ++i) {
      EXPECT_EQ(d.frames[i].frame_no, i);
      EXPECT_EQ(d.frames[i].epoch, 100 + round);
    }
  }
}

TEST(outbound_stream, live_events_go_out_without_a_scan_once_caught_up) {
  fake_store store;
  outbound_stream s{{4, 10, 100}, 1};
  s.restart(0);
  driver d{s, store};
  d.pump();
  EXPECT_EQ(d.scans, 1);  // the empty store, read once
  for (int i = 0; i < 5; ++i)
    s.on_live({store.commit("orders.a")});
  d.pump(true);
  EXPECT_EQ(d.scans, 1);
  EXPECT_EQ(d.sent(), range(1, 5));
  EXPECT_EQ(d.frames.size(), 1u);  // batched into one frame
  EXPECT_EQ(s.covered(), 5u);
  // A live event already covered is not queued again.
  s.on_live({std::make_shared<const event>(*d.frames[0].events[2])});
  EXPECT_EQ(s.queued(), 0u);
}

TEST(outbound_stream, frames_are_cut_by_bytes_but_carry_at_least_one_event) {
  fake_store store;
  outbound_stream s{{8, 100, 100, 1000}, 1};
  s.restart(0);
  driver d{s, store};
  d.pump();
  std::vector<event_ptr> live;
  for (int i = 0; i < 4; ++i) {
    auto e = std::make_shared<event>(*store.commit("orders.a"));
    e->data.assign(i == 3 ? 5000 : 400, 'x');  // the last one alone exceeds the limit
    live.push_back(e);
  }
  s.on_live(live);
  d.pump(true);
  EXPECT_EQ(d.sent(), range(1, 4));
  ASSERT_EQ(d.frames.size(), 3u);
  EXPECT_EQ(d.frames[0].events.size(), 2u);  // 2 × ~450 bytes fit in 1000
  EXPECT_EQ(d.frames[1].events.size(), 1u);
  EXPECT_EQ(d.frames[2].events.size(), 1u);  // over the limit, but alone
}

TEST(outbound_stream, live_events_wait_until_the_gap_before_them_is_read) {
  fake_store store;
  for (int i = 0; i < 3; ++i)
    store.commit("orders.a");
  outbound_stream s{{4, 10, 100}, 1};
  s.restart(0);
  // Live events arrive before the store was scanned: they must not go first.
  s.on_live({store.commit("orders.a"), store.commit("orders.b")});
  EXPECT_FALSE(s.next_frame());
  driver d{s, store};
  d.pump(true);
  EXPECT_EQ(d.sent(), range(1, 5));
}

TEST(outbound_stream, events_forwarded_before_the_start_are_sent_after_the_cursor) {
  fake_store store;
  outbound_stream s{{4, 10, 100}, 1};
  std::vector<event_ptr> live;
  for (int i = 0; i < 6; ++i)
    live.push_back(store.commit("orders.a"));
  s.on_live(live);
  s.restart(2);
  driver d{s, store};
  d.pump(true);
  EXPECT_EQ(d.sent(), range(3, 6));
}

TEST(outbound_stream, an_overflowing_tail_loses_nothing) {
  fake_store store;
  outbound_stream s{{2, 2, 3}, 1};
  s.restart(0);
  driver d{s, store, 2};
  d.pump(true);
  ASSERT_TRUE(d.frames.empty());
  // 20 live events while the peer is behind: the tail keeps only 3.
  std::vector<event_ptr> live;
  for (int i = 0; i < 20; ++i)
    live.push_back(store.commit(i % 4 == 3 ? "audit.x" : "orders.a"));
  std::vector<event_ptr> wanted_live;
  for (const auto& e : live)
    if (wanted(e->topic))
      wanted_live.push_back(e);
  s.on_live(wanted_live);
  EXPECT_LE(s.queued(), 3u);
  const int scans_before = d.scans;
  d.pump(true);
  EXPECT_GT(d.scans, scans_before);  // the lost part came from the store
  EXPECT_EQ(d.sent(), store.owed(0));
}

TEST(outbound_stream, tail_overflow_while_frames_are_in_flight) {
  fake_store store;
  outbound_stream s{{1, 2, 2}, 1};
  s.restart(0);
  driver d{s, store, 2};
  d.pump();
  std::vector<uint64_t> sent;
  // Live events trickle in while at most one frame is in flight.
  for (int round = 0; round < 30; ++round) {
    std::vector<event_ptr> batch;
    for (int i = 0; i < round % 5; ++i)
      batch.push_back(store.commit("orders.a"));
    s.on_live(batch);
    EXPECT_LE(s.queued(), 2u + 2u);  // the tail, and one page read from the store
    d.pump();
    EXPECT_LE(s.in_flight(), 1u);
    if (!d.frames.empty() && s.in_flight() == 1)
      s.on_ack({1, d.frames.back().frame_no, d.frames.back().events.back()->seq});
  }
  for (int i = 0; i < 100 && (s.in_flight() > 0 || s.next_scan() || s.queued() > 0); ++i) {
    d.pump();
    if (s.in_flight() == 1)
      s.on_ack({1, d.frames.back().frame_no, d.frames.back().events.back()->seq});
  }
  EXPECT_EQ(d.sent(), store.owed(0));
}

TEST(outbound_stream, live_events_committed_after_the_scan_snapshot_are_not_lost) {
  fake_store store;
  for (int i = 0; i < 5; ++i)
    store.commit("orders.a");
  outbound_stream s{{4, 10, 100}, 1};
  s.restart(0);
  auto after = s.next_scan();
  ASSERT_TRUE(after);
  auto page = store.scan(*after, 100, 50000);  // the snapshot: 1..5
  ASSERT_TRUE(page.at_end);
  // 6 and 7 are committed and forwarded before the page is handed over.
  s.on_live({store.commit("orders.a"), store.commit("orders.a")});
  s.on_scan(std::move(page.events), page.scanned_to, page.at_end);
  driver d{s, store};
  d.pump(true);
  EXPECT_EQ(d.sent(), range(1, 7));
}

TEST(outbound_stream, live_events_forwarded_after_a_scan_that_saw_them_are_not_duplicated) {
  fake_store store;
  for (int i = 0; i < 3; ++i)
    store.commit("orders.a");
  // 4 and 5 are committed (so the scan sees them) but still on their way from the router.
  auto e4 = store.commit("orders.a");
  auto e5 = store.commit("orders.a");
  outbound_stream s{{4, 10, 100}, 1};
  s.restart(0);
  driver d{s, store};
  d.pump(true);
  EXPECT_EQ(d.sent(), range(1, 5));
  s.on_live({e4, e5});
  auto e6 = store.commit("orders.a");
  s.on_live({e6});
  d.pump(true);
  EXPECT_EQ(d.sent(), range(1, 6));
}

TEST(outbound_stream, live_events_forwarded_before_a_scan_that_saw_them_are_not_duplicated) {
  fake_store store;
  for (int i = 0; i < 3; ++i)
    store.commit("orders.a");
  outbound_stream s{{4, 2, 100}, 1};
  s.restart(0);
  // 4..6 arrive live and are also in the store the scans read.
  s.on_live({store.commit("orders.a"), store.commit("orders.a"), store.commit("orders.a")});
  driver d{s, store, 2};
  d.pump(true);
  EXPECT_EQ(d.sent(), range(1, 6));
}

TEST(outbound_stream, a_racing_scan_with_a_conservative_end_and_an_overflowing_tail) {
  // A page that fills its limit reports at_end false (as SQLite does); the
  // tail overflows while the page is out.
  fake_store store;
  for (int i = 0; i < 4; ++i)
    store.commit("orders.a");
  outbound_stream s{{8, 4, 2}, 1};
  s.restart(0);
  auto page = store.scan(*s.next_scan(), 4, 50000, /*conservative=*/true);
  ASSERT_FALSE(page.at_end);
  std::vector<event_ptr> live;
  for (int i = 0; i < 5; ++i)
    live.push_back(store.commit("orders.a"));
  s.on_live(live);
  s.on_scan(std::move(page.events), page.scanned_to, page.at_end);
  driver d{s, store, 4};
  d.pump(true);
  EXPECT_EQ(d.sent(), range(1, 9));
}

// --- randomized: a link and a listener over a lossy connection ----------------

uint32_t base_seed() {
  if (const char* s = std::getenv("EVMESH_FUZZ_SEED"))
    return static_cast<uint32_t>(std::strtoul(s, nullptr, 0));
  return 0x5EED0u;
}

using to_receiver = std::variant<hello_frame, outgoing_events>;
using to_sender = std::variant<welcome_frame, ack_frame, nack_frame, rehello_frame>;

class link_model {
public:
  explicit link_model(uint32_t seed) : rng_(seed) {
    limits_.window_frames = 1 + below(4);
    limits_.frame_events = 1 + below(3);
    limits_.tail_events = 1 + below(6);
    page_ = below(2) ? limits_.frame_events : 1 + below(4);
    max_scanned_ = 1 + below(6);
    stream_ = std::make_unique<outbound_stream>(limits_, 1 + below(1000));
    say_hello();
  }

  std::string describe() const {
    return "window " + std::to_string(limits_.window_frames) + ", frame_events " +
           std::to_string(limits_.frame_events) + ", tail " + std::to_string(limits_.tail_events) +
           ", page " + std::to_string(page_) + ", max_scanned " + std::to_string(max_scanned_);
  }

  // One random step of the busy phase.
  void step() {
    switch (below(12)) {
      case 0: case 1: commit_local(1 + below(4)); break;
      case 2: store_.commit_remote(below(1000)); break;
      case 3: case 4: forward_live(below(live_.size() + 1)); break;
      case 5: case 6: pump(1 + below(6)); break;
      case 7: case 8: deliver_to_receiver(1 + below(4), /*lossy=*/true); break;
      case 9: case 10: deliver_to_sender(1 + below(4), /*lossy=*/true); break;
      default:
        if (below(4) == 0 && stream_->started())
          restart(stream_->acked());  // an ack timeout, or the interest grew
        break;
    }
  }

  // No loss, no failures, no new events: runs until nothing is left to do.
  bool settle() {
    failures_ = false;
    forward_live(live_.size());
    for (int round = 0; round < 10000; ++round) {
      bool busy = pump(1000);
      busy |= deliver_to_receiver(1000, false);
      busy |= deliver_to_sender(1000, false);
      if (busy)
        continue;
      if (!welcomed_)
        say_hello();
      else if (stream_->in_flight() > 0)
        restart(stream_->acked());  // frames were lost: the ack timeout
      else
        return true;
    }
    return false;
  }

  void check_outcome() {
    const auto owed = store_.owed(0);
    EXPECT_EQ(stored_, owed) << "the receiver's log differs from what the peer is owed";
    if (!owed.empty()) {
      EXPECT_EQ(receiver_.durable("node-a"), owed.back());
      EXPECT_EQ(stream_->acked(), owed.back());
    }
    EXPECT_EQ(stream_->queued(), 0u);
  }

  int frames_sent() const { return frames_sent_; }
  int restarts() const { return restarts_; }

private:
  std::size_t below(std::size_t n) { return std::uniform_int_distribution<std::size_t>{0, n - 1}(rng_); }
  bool chance(int percent) { return below(100) < static_cast<std::size_t>(percent); }

  void commit_local(std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      auto e = store_.commit(chance(25) ? "audit.x" : "orders.a");
      if (wanted(e->topic))
        live_.push_back(e);  // the router forwards it to the link, later
    }
  }

  // The router forwards the first n committed events, in log order.
  void forward_live(std::size_t n) {
    if (n == 0)
      return;
    std::vector<event_ptr> batch(live_.begin(), live_.begin() + static_cast<std::ptrdiff_t>(n));
    live_.erase(live_.begin(), live_.begin() + static_cast<std::ptrdiff_t>(n));
    stream_->on_live(batch);
    EXPECT_LE(stream_->queued(), limits_.tail_events + std::max(page_, limits_.frame_events));
  }

  void say_hello() { to_receiver_.push_back(hello_frame{"node-a", "a:1", 1, stream_->epoch()}); }

  void restart(uint64_t cursor) {
    stream_->restart(cursor);
    ++restarts_;
  }

  // The link's pump; true when it did anything.
  bool pump(int steps) {
    bool busy = false;
    for (int i = 0; i < steps; ++i) {
      if (auto out = stream_->next_frame()) {
        check_sent(*out);
        to_receiver_.push_back(std::move(*out));
        busy = true;
        continue;
      }
      if (auto after = stream_->next_scan()) {
        auto page = store_.scan(*after, page_, max_scanned_, chance(50));
        if (failures_ && chance(30)) {
          // Events committed after the snapshot, forwarded before the page is in.
          commit_local(1 + below(3));
          forward_live(below(live_.size() + 1));
        }
        stream_->on_scan(std::move(page.events), page.scanned_to, page.at_end);
        busy = true;
        continue;
      }
      break;
    }
    EXPECT_LE(stream_->in_flight(), limits_.window_frames);
    return busy;
  }

  // Per epoch: frames numbered 0, 1, 2, ...; events strictly increasing (so
  // none twice); only wanted local events; never more than the window.
  void check_sent(const outgoing_events& out) {
    ++frames_sent_;
    EXPECT_LE(stream_->in_flight(), limits_.window_frames);
    EXPECT_FALSE(out.events.empty());
    EXPECT_LE(out.events.size(), limits_.frame_events);
    EXPECT_GE(out.epoch, last_epoch_);
    if (out.epoch != last_epoch_) {
      last_epoch_ = out.epoch;
      next_frame_no_ = 0;
      last_sent_ = 0;
    }
    EXPECT_EQ(out.frame_no, next_frame_no_) << "epoch " << out.epoch;
    next_frame_no_ = out.frame_no + 1;
    for (const auto& e : out.events) {
      EXPECT_GT(e->seq, last_sent_) << "sent twice or out of order in epoch " << out.epoch;
      EXPECT_TRUE(e->origin.empty() && wanted(e->topic)) << "seq " << e->seq;
      last_sent_ = e->seq;
    }
  }

  // The listener's side (listener.cpp), with the store always at once.
  bool deliver_to_receiver(std::size_t n, bool lossy) {
    bool busy = false;
    for (; n > 0 && !to_receiver_.empty(); --n) {
      auto msg = std::move(to_receiver_.front());
      to_receiver_.pop_front();
      busy = true;
      if (lossy && failures_ && chance(3))
        continue;  // lost with a connection
      if (auto* h = std::get_if<hello_frame>(&msg)) {
        receiver_.on_hello(h->name, h->epoch);
        to_sender_.push_back(welcome_frame{"node-b", "b:1", 1, receiver_.durable("node-a"), 0, {}});
        continue;
      }
      auto& f = std::get<outgoing_events>(msg);
      switch (receiver_.on_frame("node-a", f.epoch, f.frame_no)) {
        case frame_verdict::accept: break;
        case frame_verdict::gap:
          to_sender_.push_back(nack_frame{f.epoch, receiver_.durable("node-a")});
          continue;
        case frame_verdict::unknown:
          to_sender_.push_back(rehello_frame{});
          continue;
        case frame_verdict::stale:
        case frame_verdict::repeat:
          continue;
      }
      std::vector<uint64_t> fresh;
      uint64_t last_seq = 0;
      for (const auto& e : f.events) {
        last_seq = std::max(last_seq, e->seq);
        if (receiver_.accept_event("node-a", e->seq))
          fresh.push_back(e->seq);
      }
      if (fresh.empty()) {
        to_sender_.push_back(ack_frame{f.epoch, f.frame_no, receiver_.durable("node-a")});
        continue;
      }
      if (lossy && failures_ && chance(3)) {
        receiver_.store_failed("node-a");
        to_sender_.push_back(rehello_frame{});
        continue;
      }
      // Stored: in order, each once, nothing skipped.
      const auto owed = store_.owed(0);
      for (auto s : fresh) {
        EXPECT_LT(stored_.size(), owed.size());
        if (stored_.size() < owed.size())
          EXPECT_EQ(s, owed[stored_.size()]) << "stored out of order or after a lost event";
        stored_.push_back(s);
      }
      receiver_.stored("node-a", last_seq);
      to_sender_.push_back(ack_frame{f.epoch, f.frame_no, receiver_.durable("node-a")});
    }
    return busy;
  }

  // The link's side (peer_link.cpp).
  bool deliver_to_sender(std::size_t n, bool lossy) {
    bool busy = false;
    for (; n > 0 && !to_sender_.empty(); --n) {
      auto msg = std::move(to_sender_.front());
      to_sender_.pop_front();
      busy = true;
      if (lossy && failures_ && chance(3))
        continue;
      if (auto* w = std::get_if<welcome_frame>(&msg)) {
        welcomed_ = true;
        restart(w->cursor);
      } else if (auto* a = std::get_if<ack_frame>(&msg)) {
        const auto before = stream_->acked();
        stream_->on_ack(*a);
        EXPECT_GE(stream_->acked(), before);
      } else if (auto* k = std::get_if<nack_frame>(&msg)) {
        if (stream_->on_nack(*k))
          ++restarts_;
      } else {
        welcomed_ = false;
        say_hello();
      }
    }
    return busy;
  }

  std::mt19937 rng_;
  stream_limits limits_;
  std::size_t page_ = 1;
  std::size_t max_scanned_ = 1;
  fake_store store_;
  std::unique_ptr<outbound_stream> stream_;
  inbound_sequencer receiver_{{}};
  std::deque<event_ptr> live_;  // committed, not yet forwarded by the router
  std::deque<to_receiver> to_receiver_;
  std::deque<to_sender> to_sender_;
  bool welcomed_ = false;
  bool failures_ = true;
  std::vector<uint64_t> stored_;  // origin seqs the receiver stored, in order
  uint64_t last_epoch_ = 0;
  uint64_t next_frame_no_ = 0;
  uint64_t last_sent_ = 0;
  int frames_sent_ = 0;
  int restarts_ = 0;
};

TEST(outbound_stream, randomized_link_delivers_every_event_once_in_order) {
  const uint32_t base = base_seed();
  constexpr int runs = 300;
  constexpr int steps = 400;
  long frames = 0;
  long restarts = 0;
  for (int run = 0; run < runs; ++run) {
    const uint32_t seed = base + static_cast<uint32_t>(run);
    link_model model{seed};
    SCOPED_TRACE("seed " + std::to_string(seed) + " (EVMESH_FUZZ_SEED=" + std::to_string(seed) +
                 " reruns it first), " + model.describe());
    for (int i = 0; i < steps; ++i) {
      model.step();
      if (::testing::Test::HasFailure())
        break;
    }
    ASSERT_TRUE(model.settle()) << "the link never settled";
    model.check_outcome();
    ASSERT_FALSE(::testing::Test::HasFailure());
    frames += model.frames_sent();
    restarts += model.restarts();
  }
  std::cout << "[ random   ] seeds " << base << ".." << base + runs - 1 << ": " << frames
            << " frames, " << restarts << " restarts\n";
  EXPECT_GT(restarts, runs);  // the runs did exercise resends
}

} // namespace
