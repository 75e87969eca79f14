// Tests of the receiving half of the link protocol (cluster/detail/inbound_sequencer):
// the verdict for each frame (accept the next one or the first of a newer
// epoch, ignore older epochs, nack a gap once per epoch, ask an unknown sender
// to say hello), event dedup by origin seq, the durable cursor, a failed store
// forcing a new hello, and cursors loaded at start.
#include "cluster/detail/inbound_sequencer.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace {

using evmesh::cluster::frame_verdict;
using evmesh::cluster::inbound_sequencer;
using evmesh::cluster::store_batch;
using evmesh::event;

const char* name(frame_verdict v) {
  switch (v) {
    case frame_verdict::accept: return "accept";
    case frame_verdict::stale: return "stale";
    case frame_verdict::gap: return "gap";
    case frame_verdict::repeat: return "repeat";
    case frame_verdict::unknown: return "unknown";
  }
  return "?";
}

#define EXPECT_VERDICT(call, expected) EXPECT_STREQ(name(call), name(frame_verdict::expected))

TEST(inbound_sequencer, frames_before_a_hello_are_unknown) {
  inbound_sequencer seq{{}};
  EXPECT_VERDICT(seq.on_frame("a", 1, 0), unknown);
  EXPECT_VERDICT(seq.on_frame("a", 1, 0), unknown);
  // Known cursors do not count as a hello.
  inbound_sequencer with_cursor{{{"a", 10}}};
  EXPECT_VERDICT(with_cursor.on_frame("a", 1, 0), unknown);
  // A hello from one origin says nothing about another.
  seq.on_hello("b", 1);
  EXPECT_VERDICT(seq.on_frame("a", 1, 0), unknown);
  EXPECT_VERDICT(seq.on_frame("b", 1, 0), accept);
}

TEST(inbound_sequencer, accepts_frames_in_order) {
  inbound_sequencer seq{{}};
  seq.on_hello("a", 5);
  for (uint64_t n = 0; n < 10; ++n)
    EXPECT_VERDICT(seq.on_frame("a", 5, n), accept) << "frame " << n;
}

TEST(inbound_sequencer, first_frame_of_a_newer_epoch_is_accepted) {
  inbound_sequencer seq{{}};
  seq.on_hello("a", 5);
  EXPECT_VERDICT(seq.on_frame("a", 5, 0), accept);
  EXPECT_VERDICT(seq.on_frame("a", 5, 1), accept);
  // The sender restarted (a nack, a timeout) without a new hello.
  EXPECT_VERDICT(seq.on_frame("a", 7, 0), accept);
  EXPECT_VERDICT(seq.on_frame("a", 7, 1), accept);
  // The older epoch is now stale, even where it would have continued.
  EXPECT_VERDICT(seq.on_frame("a", 5, 2), stale);
  EXPECT_VERDICT(seq.on_frame("a", 6, 0), stale);
}

TEST(inbound_sequencer, a_newer_epoch_that_does_not_start_at_zero_is_a_gap) {
  inbound_sequencer seq{{}};
  seq.on_hello("a", 1);
  EXPECT_VERDICT(seq.on_frame("a", 2, 3), gap);
  EXPECT_VERDICT(seq.on_frame("a", 2, 4), repeat);
  EXPECT_VERDICT(seq.on_frame("a", 2, 0), accept);
  EXPECT_VERDICT(seq.on_frame("a", 1, 0), stale);
}

TEST(inbound_sequencer, older_epochs_are_stale) {
  inbound_sequencer seq{{}};
  seq.on_hello("a", 3);
  EXPECT_VERDICT(seq.on_frame("a", 2, 0), stale);
  EXPECT_VERDICT(seq.on_frame("a", 0, 0), stale);
  EXPECT_VERDICT(seq.on_frame("a", 3, 0), accept);
  EXPECT_VERDICT(seq.on_frame("a", 2, 1), stale);
}

TEST(inbound_sequencer, a_gap_is_nacked_once_per_epoch) {
  inbound_sequencer seq{{}};
  seq.on_hello("a", 1);
  EXPECT_VERDICT(seq.on_frame("a", 1, 0), accept);
  EXPECT_VERDICT(seq.on_frame("a", 1, 2), gap);  // frame 1 was lost
  EXPECT_VERDICT(seq.on_frame("a", 1, 3), repeat);
  EXPECT_VERDICT(seq.on_frame("a", 1, 4), repeat);
  // The resend in the next epoch is taken, and a new gap there is nacked again.
  EXPECT_VERDICT(seq.on_frame("a", 2, 0), accept);
  EXPECT_VERDICT(seq.on_frame("a", 1, 5), stale);
  EXPECT_VERDICT(seq.on_frame("a", 2, 2), gap);
  EXPECT_VERDICT(seq.on_frame("a", 2, 3), repeat);
}

TEST(inbound_sequencer, a_frame_already_taken_is_not_taken_twice) {
  inbound_sequencer seq{{}};
  seq.on_hello("a", 1);
  EXPECT_VERDICT(seq.on_frame("a", 1, 0), accept);
  EXPECT_VERDICT(seq.on_frame("a", 1, 1), accept);
  EXPECT_NE(seq.on_frame("a", 1, 0), frame_verdict::accept);
  EXPECT_NE(seq.on_frame("a", 1, 1), frame_verdict::accept);
}

TEST(inbound_sequencer, hello_restarts_frame_numbers_and_forgets_the_gap) {
  inbound_sequencer seq{{}};
  seq.on_hello("a", 1);
  EXPECT_VERDICT(seq.on_frame("a", 1, 0), accept);
  EXPECT_VERDICT(seq.on_frame("a", 1, 5), gap);
  EXPECT_VERDICT(seq.on_frame("a", 1, 6), repeat);
  // A hello in the same epoch: frame 0 again, and a gap is reported anew.
  seq.on_hello("a", 1);
  EXPECT_VERDICT(seq.on_frame("a", 1, 0), accept);
  EXPECT_VERDICT(seq.on_frame("a", 1, 2), gap);
  // A hello with an older epoch (the sender restarted its process).
  seq.on_hello("a", 0);
  EXPECT_VERDICT(seq.on_frame("a", 0, 0), accept);
}

TEST(inbound_sequencer, origins_are_independent) {
  inbound_sequencer seq{{}};
  seq.on_hello("a", 1);
  seq.on_hello("b", 9);
  EXPECT_VERDICT(seq.on_frame("a", 1, 0), accept);
  EXPECT_VERDICT(seq.on_frame("b", 9, 0), accept);
  EXPECT_VERDICT(seq.on_frame("a", 1, 3), gap);
  EXPECT_VERDICT(seq.on_frame("b", 9, 3), gap);
  EXPECT_VERDICT(seq.on_frame("b", 9, 4), repeat);
  EXPECT_VERDICT(seq.on_frame("a", 1, 1), accept);  // a's gap was a's own
  EXPECT_TRUE(seq.accept_event("a", 5));
  EXPECT_TRUE(seq.accept_event("b", 5));
  seq.stored("a", 5);
  EXPECT_EQ(seq.durable("a"), 5u);
  EXPECT_EQ(seq.durable("b"), 0u);
}

TEST(inbound_sequencer, accept_event_drops_seqs_at_or_below_the_accepted_one) {
  inbound_sequencer seq{{}};
  EXPECT_TRUE(seq.accept_event("a", 1));
  EXPECT_TRUE(seq.accept_event("a", 2));
  EXPECT_FALSE(seq.accept_event("a", 2));
  EXPECT_FALSE(seq.accept_event("a", 1));
  // Seqs of the origin's log may skip (events the peer did not want).
  EXPECT_TRUE(seq.accept_event("a", 10));
  EXPECT_FALSE(seq.accept_event("a", 9));
  EXPECT_TRUE(seq.accept_event("a", 11));
  EXPECT_FALSE(seq.accept_event("a", 0));
  // Accepted is not stored.
  EXPECT_EQ(seq.durable("a"), 0u);
}

TEST(inbound_sequencer, stored_advances_the_durable_cursor_and_never_moves_it_back) {
  inbound_sequencer seq{{}};
  EXPECT_EQ(seq.durable("a"), 0u);
  EXPECT_EQ(seq.durable("nobody"), 0u);
  for (uint64_t s = 1; s <= 6; ++s)
    ASSERT_TRUE(seq.accept_event("a", s));
  seq.stored("a", 3);
  EXPECT_EQ(seq.durable("a"), 3u);
  seq.stored("a", 6);
  EXPECT_EQ(seq.durable("a"), 6u);
  seq.stored("a", 4);  // a late reply for an earlier batch
  EXPECT_EQ(seq.durable("a"), 6u);
}

TEST(inbound_sequencer, cursors_from_the_constructor) {
  inbound_sequencer seq{{{"a", 40}, {"b", 7}}};
  EXPECT_EQ(seq.durable("a"), 40u);
  EXPECT_EQ(seq.durable("b"), 7u);
  EXPECT_EQ(seq.durable("c"), 0u);
  // What was stored before the restart is not taken again.
  EXPECT_FALSE(seq.accept_event("a", 40));
  EXPECT_FALSE(seq.accept_event("a", 1));
  EXPECT_TRUE(seq.accept_event("a", 41));
  EXPECT_FALSE(seq.accept_event("b", 7));
  EXPECT_TRUE(seq.accept_event("b", 8));
  EXPECT_TRUE(seq.accept_event("c", 1));
  // A hello keeps the cursors.
  seq.on_hello("a", 3);
  EXPECT_EQ(seq.durable("a"), 40u);
  EXPECT_FALSE(seq.accept_event("a", 41));
}

TEST(inbound_sequencer, store_failed_forces_a_hello_and_a_retake) {
  inbound_sequencer seq{{{"a", 10}}};
  seq.on_hello("a", 1);
  EXPECT_VERDICT(seq.on_frame("a", 1, 0), accept);
  for (uint64_t s = 11; s <= 15; ++s)
    ASSERT_TRUE(seq.accept_event("a", s));
  seq.stored("a", 12);
  EXPECT_VERDICT(seq.on_frame("a", 1, 1), accept);
  for (uint64_t s = 16; s <= 20; ++s)
    ASSERT_TRUE(seq.accept_event("a", s));

  seq.store_failed("a");
  EXPECT_EQ(seq.durable("a"), 12u);
  // Until the sender says hello again, its frames are not taken ...
  EXPECT_VERDICT(seq.on_frame("a", 1, 2), unknown);
  EXPECT_VERDICT(seq.on_frame("a", 2, 0), unknown);
  // ... and after it, the events after the durable cursor are new again.
  seq.on_hello("a", 2);
  EXPECT_VERDICT(seq.on_frame("a", 2, 0), accept);
  EXPECT_FALSE(seq.accept_event("a", 12));
  for (uint64_t s = 13; s <= 20; ++s)
    EXPECT_TRUE(seq.accept_event("a", s)) << "seq " << s;
  EXPECT_FALSE(seq.accept_event("a", 20));
}

TEST(inbound_sequencer, store_failed_of_one_origin_leaves_the_others) {
  inbound_sequencer seq{{}};
  seq.on_hello("a", 1);
  seq.on_hello("b", 1);
  ASSERT_TRUE(seq.accept_event("b", 3));
  seq.store_failed("a");
  EXPECT_VERDICT(seq.on_frame("a", 1, 0), unknown);
  EXPECT_VERDICT(seq.on_frame("b", 1, 0), accept);
  EXPECT_FALSE(seq.accept_event("b", 3));
}

// The listener hands each accepted frame to the publisher at once, so several
// batches can be in flight; a store failure of one (e.g. SQLITE_BUSY, a full
// disk) does not stop the next from succeeding. The success must not move the
// durable cursor past the events that failed: the sender resumes from that
// cursor (welcome, acks), so they would never be sent again.
// KNOWN BUG (reported, not fixed here): stored() after store_failed() takes
// the later batch's seq as durable. The store has the same hole: append()
// advances peer_cursors to the batch's highest origin_seq, so after a restart
// load_peer_cursors() skips the failed events too.
// A batch that fails must not be overtaken by a later one that succeeds:
// the cursor the sender resumes from would pass events never stored. Only
// one batch per origin is with the store at a time; what arrives meanwhile
// waits, and is dropped (to be resent) when the batch fails.
TEST(inbound_sequencer, a_later_batch_never_overtakes_a_failed_one) {
  inbound_sequencer seq{{{"a", 9}}};
  seq.on_hello("a", 1);
  auto frame = [&](uint64_t no, uint64_t first, uint64_t last) {
    EXPECT_EQ(seq.on_frame("a", 1, no), frame_verdict::accept);
    store_batch b{1, no, last, {}};
    for (uint64_t s = first; s <= last; ++s) {
      EXPECT_TRUE(seq.accept_event("a", s));
      b.events.push_back(event{});
    }
    return b;
  };
  auto first = seq.queue_for_store("a", frame(0, 10, 12));
  ASSERT_TRUE(first);
  EXPECT_EQ(first->last_seq, 12u);
  EXPECT_FALSE(seq.queue_for_store("a", frame(1, 13, 15))) << "waits while batch 1 is stored";
  EXPECT_FALSE(seq.queue_for_store("a", frame(2, 16, 16)));
  seq.store_failed("a");  // batch 1 failed
  EXPECT_FALSE(seq.next_store("a")) << "what waited is dropped with it";
  EXPECT_EQ(seq.durable("a"), 9u);
  EXPECT_EQ(seq.on_frame("a", 1, 3), frame_verdict::unknown) << "the sender must say hello again";
}

TEST(inbound_sequencer, frames_that_wait_for_the_store_go_as_one_batch_acked_by_the_last_frame) {
  inbound_sequencer seq{{}};
  seq.on_hello("a", 4);
  ASSERT_TRUE(seq.queue_for_store("a", store_batch{4, 0, 3, {event{}, event{}, event{}}}));
  EXPECT_FALSE(seq.queue_for_store("a", store_batch{4, 1, 5, {event{}, event{}}}));
  EXPECT_FALSE(seq.queue_for_store("a", store_batch{4, 2, 7, {event{}}}));
  seq.stored("a", 3);
  auto next = seq.next_store("a");
  ASSERT_TRUE(next);
  EXPECT_EQ(next->frame_no, 2u);
  EXPECT_EQ(next->last_seq, 7u);
  EXPECT_EQ(next->events.size(), 3u);
  seq.stored("a", 7);
  EXPECT_FALSE(seq.next_store("a"));
  EXPECT_TRUE(seq.queue_for_store("a", store_batch{4, 3, 8, {event{}}})) << "nothing in flight";
}

} // namespace
