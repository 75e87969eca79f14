// The delivery store conformance suite (store/delivery_store.hpp), run on
// every backend: endpoint cursors (created once, only moving forward),
// retry rows and the attempt log, pending rows with their events, closing
// an endpoint (forget or disable), replays filtered by pattern, range and
// limit, time → seq, the retention floor and pruning.
#include "conformance/store_conformance.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace evmesh::test {
namespace {

namespace state = evmesh::delivery_state;

// Appends events e1..en at times 1000, 2000, ...; odd ones on "a.x".
void fill(store& db, int n) {
  std::vector<event> batch;
  for (int i = 1; i <= n; ++i) {
    event e;
    e.id = "e" + std::to_string(i);
    e.topic = i % 2 ? "a.x" : "b.x";
    e.time_us = int64_t{1000} * i + now_us();
    e.data = "{}";
    batch.push_back(e);
  }
  db.append(batch);
}

delivery_row row(const std::string& endpoint, uint64_t seq, const char* st, uint32_t attempts = 1) {
  return {endpoint, "", seq, "e" + std::to_string(seq), st, attempts, 5000, 500, "HTTP 500", 4000};
}

attempt_record attempt(const std::string& endpoint, uint64_t seq, uint32_t n) {
  return {endpoint, "e" + std::to_string(seq), "", seq, n, 100 * n, 500, 42, "HTTP 500", std::string("\x00body", 5)};
}

// A new endpoint starts at the end of the log (SQLite: where it is told,
// which the node makes the log's end; PostgreSQL: every log's end).
TEST_P(delivery_store_conformance, an_endpoint_cursor_is_created_once_and_only_moves_forward) {
  auto db = open();
  fill(*db, 7);
  auto deliveries = open_deliveries();
  auto opened = deliveries->open_endpoint("ep_1", 7);
  ASSERT_EQ(opened.size(), 1u);
  auto c = opened[0];
  EXPECT_EQ(c.endpoint_id, "ep_1");
  EXPECT_EQ(c.start_seq, 7u);
  EXPECT_EQ(c.cursor, 7u);
  fill(*db, 2);
  EXPECT_EQ(deliveries->open_endpoint("ep_1", 9).at(0).cursor, 7u);  // already there

  endpoint_progress p;
  p.endpoint_id = "ep_1";
  p.cursors[c.log] = 12;
  p.last_success_us = 555;
  deliveries->save({p});
  p.cursors[c.log] = 9;  // never back
  p.last_success_us.reset();
  p.failing_since_us = 777;
  deliveries->save({p});
  deliveries = open_deliveries();  // and it persists
  auto all = deliveries->cursors(c.log);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].cursor, 12u);
  EXPECT_EQ(all[0].last_success_us, 555);
  EXPECT_EQ(all[0].failing_since_us, 777);
}

TEST_P(delivery_store_conformance, rows_attempts_and_pending_deliveries) {
  auto db = open();
  fill(*db, 6);
  auto deliveries = open_deliveries();
  deliveries->open_endpoint("ep_1", 0);
  endpoint_progress p;
  p.endpoint_id = "ep_1";
  p.rows = {row("ep_1", 5, state::retrying), row("ep_1", 2, state::queued, 0), row("ep_1", 3, state::failed),
            row("ep_1", 4, state::delivered)};
  p.attempts = {attempt("ep_1", 5, 1), attempt("ep_1", 3, 1), attempt("ep_1", 3, 2)};
  deliveries->save({p});

  auto pending = deliveries->pending("ep_1");
  ASSERT_EQ(pending.size(), 2u);
  EXPECT_EQ(pending[0].row.seq, 2u);
  EXPECT_EQ(pending[0].row.state, state::queued);
  EXPECT_EQ(pending[0].e.id, "e2");
  EXPECT_EQ(pending[1].row.seq, 5u);
  EXPECT_EQ(pending[1].row.attempts, 1u);
  EXPECT_EQ(pending[1].row.last_error, "HTTP 500");
  EXPECT_EQ(pending[1].e, *db->find("e5"));

  auto attempts = deliveries->attempts("ep_1", 2);  // newest first
  ASSERT_EQ(attempts.size(), 2u);
  EXPECT_EQ(attempts[0].attempt, 2u);
  EXPECT_EQ(attempts[0].seq, 3u);
  EXPECT_EQ(attempts[0].response, std::string("\x00body", 5));
  EXPECT_EQ(attempts[1].event_id, "e3");

  auto rows = deliveries->rows_for_seq("", 3);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].state, state::failed);

  p.rows = {row("ep_1", 5, state::delivered, 2)};  // a later state replaces the row
  p.attempts.clear();
  deliveries->save({p});
  ASSERT_EQ(deliveries->pending("ep_1").size(), 1u);
  EXPECT_EQ(deliveries->rows_for_seq("", 5).at(0).attempts, 2u);
}

TEST_P(delivery_store_conformance, closing_an_endpoint_forgets_it_or_fails_its_open_rows) {
  auto db = open();
  fill(*db, 3);
  auto deliveries = open_deliveries();
  for (const char* ep : {"ep_keep", "ep_gone"}) {
    deliveries->open_endpoint(ep, 0);
    endpoint_progress p;
    p.endpoint_id = ep;
    p.rows = {row(ep, 1, state::retrying)};
    p.attempts = {attempt(ep, 1, 1)};
    deliveries->save({p});
  }
  deliveries->close_endpoint("ep_keep", false, 9999);
  deliveries->close_endpoint("ep_gone", true, 9999);
  EXPECT_TRUE(deliveries->cursors("").empty());
  EXPECT_TRUE(deliveries->pending("ep_keep").empty());
  auto rows = deliveries->rows_for_seq("", 1);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].endpoint_id, "ep_keep");
  EXPECT_EQ(rows[0].state, state::failed);
  EXPECT_EQ(rows[0].last_error, "endpoint disabled");
  EXPECT_EQ(deliveries->attempts("ep_keep", 10).size(), 1u);
  EXPECT_TRUE(deliveries->attempts("ep_gone", 10).empty());
}

TEST_P(delivery_store_conformance, replay_queues_matching_events_in_range_up_to_the_limit) {
  auto db = open();
  fill(*db, 10);
  auto deliveries = open_deliveries();
  deliveries->open_endpoint("ep_1", 10);
  auto queued = deliveries->queue_replay("ep_1", {"a.*"}, 2, 9, 100, 1234);
  std::vector<uint64_t> seqs;
  for (const auto& q : queued) {
    seqs.push_back(q.row.seq);
    EXPECT_EQ(q.e.seq, q.row.seq);  // local events: their own log
    EXPECT_EQ(q.row.state, state::queued);
  }
  EXPECT_EQ(seqs, (std::vector<uint64_t>{3, 5, 7, 9}));
  auto pending = deliveries->pending("ep_1");
  ASSERT_EQ(pending.size(), 4u);
  EXPECT_EQ(pending[0].row.state, state::queued);
  EXPECT_EQ(pending[0].row.attempts, 0u);

  auto limited = deliveries->queue_replay("ep_1", {"b.x", "a.x"}, 1, 10, 3, 1234);
  ASSERT_EQ(limited.size(), 3u);
  EXPECT_EQ(limited.back().row.seq, 3u);
  EXPECT_TRUE(deliveries->queue_replay("ep_1", {"a.x"}, 8, 7, 10, 1234).empty());
}

TEST_P(delivery_store_conformance, time_to_seq_retention_floor_and_prune) {
  auto db = open();
  fill(*db, 5);
  auto deliveries = open_deliveries();
  auto third = db->find("e3")->time_us;
  EXPECT_EQ(deliveries->first_seq_at_or_after(third), 3u);
  EXPECT_EQ(deliveries->first_seq_at_or_after(third - 1), 3u);
  EXPECT_EQ(deliveries->first_seq_at_or_after(0), 1u);
  EXPECT_EQ(deliveries->first_seq_at_or_after(third + 1'000'000), 6u);  // past the end

  EXPECT_EQ(deliveries->retention_floor(), 0u);  // no endpoint
  deliveries->open_endpoint("ep_1", 5);
  EXPECT_EQ(deliveries->retention_floor(), 6u);
  endpoint_progress p;
  p.endpoint_id = "ep_1";
  p.rows = {row("ep_1", 2, state::retrying), row("ep_1", 1, state::failed)};
  p.attempts = {attempt("ep_1", 1, 1), attempt("ep_1", 3, 1)};
  deliveries->save({p});
  EXPECT_EQ(deliveries->retention_floor(), 2u);  // the open row holds it

  deliveries->prune(3);
  EXPECT_TRUE(deliveries->rows_for_seq("", 1).empty());
  EXPECT_TRUE(deliveries->rows_for_seq("", 2).empty());
  auto left = deliveries->attempts("ep_1", 10);
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].seq, 3u);
}

} // namespace
} // namespace evmesh::test
