// The store conformance suite: every behaviour of the store seam
// (store/store.hpp) checked the same way on every backend — seq assignment,
// 24 h id dedup (across batches, within a batch, across reopen, expiry by the
// stored event's time), scan with filter / limit / max_scanned / resume
// cursor, scan_local and at_end, peer cursors, origin round trips, find with
// binary data and headers, stats, retention by age and by size, the
// registry, a read-only store beside the writer. Compiled into each test
// binary that instantiates it for a backend (store_conformance.hpp).
#include "conformance/store_conformance.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace evmesh::test {
namespace {

using evmesh::append_outcome;
using evmesh::event;
using evmesh::now_us;
using evmesh::registry_record;
using evmesh::retention_policy;
using evmesh::store;
using evmesh::store_access;
using evmesh::store_stats;

constexpr int64_t hour_us = int64_t{3600} * 1000 * 1000;

event make_event(std::string id, std::string topic = "orders.created", int64_t time_us = now_us(),
                 std::string data = R"({"n":1})") {
  event e;
  e.id = std::move(id);
  e.topic = std::move(topic);
  e.time_us = time_us;
  e.data = std::move(data);
  return e;
}

// An event whose id + topic + data is exactly `bytes` long (bytes >= 3).
event sized_event(const std::string& id, std::size_t bytes, int64_t time_us = now_us()) {
  return make_event(id, "t", time_us, std::string(bytes - id.size() - 1, 'x'));
}

uint64_t size_of(const event& e) { return e.id.size() + e.topic.size() + e.data.size(); }

bool keep_all(std::string_view) { return true; }

std::vector<bool> duplicates_of(const std::vector<append_outcome>& outcomes) {
  std::vector<bool> out;
  for (const auto& o : outcomes)
    out.push_back(o.duplicate);
  return out;
}

void expect_stats(store& db, store_stats expected) {
  auto got = db.stats();
  EXPECT_EQ(got.first_seq, expected.first_seq);
  EXPECT_EQ(got.last_seq, expected.last_seq);
  EXPECT_EQ(got.events, expected.events);
  EXPECT_EQ(got.bytes, expected.bytes);
}

} // namespace

event local(std::string id, std::string topic) {
  event e;
  e.id = std::move(id);
  e.topic = std::move(topic);
  e.time_us = now_us();
  e.data = R"({"n":1})";
  return e;
}

event remote(std::string id, std::string origin, uint64_t origin_seq,
             std::string topic) {
  auto e = local(std::move(id), std::move(topic));
  e.origin = std::move(origin);
  e.origin_seq = origin_seq;
  return e;
}

std::unique_ptr<store> store_conformance::open(store_access access) { return place_->open(access); }

void store_conformance::SetUp() { place_ = GetParam().fresh(); }

append_outcome store_conformance::append_one(store& db, event e) {
  std::vector<event> batch{std::move(e)};
  auto outcomes = db.append(batch);
  EXPECT_EQ(outcomes.size(), 1u);
  return outcomes.empty() ? append_outcome{} : outcomes.front();
}

std::vector<append_outcome> store_conformance::append_all(store& db, std::vector<event> batch) {
  return db.append(batch);
}

std::vector<event> store_conformance::all_events(store& db) {
  uint64_t scanned_to = 0;
  return db.scan(0, 1'000'000, keep_all, 1'000'000, scanned_to);
}

void store_scan_conformance::SetUp() {
  store_conformance::SetUp();
  db = open();
  std::vector<event> batch;
  for (int i = 1; i <= 10; ++i)
    batch.push_back(make_event("e" + std::to_string(i), i % 2 ? "a.x" : "b.x"));
  db->append(batch);
}


local_page store_conformance::scan_local(store& db, uint64_t after, std::size_t limit, std::size_t max_scanned,
                                         const std::function<bool(std::string_view)>& keep) {
  local_page p;
  p.scanned_to = 12345;  // must be overwritten
  p.at_end = true;
  p.events = db.scan_local(after, limit, keep ? keep : std::function<bool(std::string_view)>(keep_all), max_scanned, p.scanned_to, p.at_end);
  return p;
}

namespace {

// ---- append and seqs ------------------------------------------------------

TEST_P(store_conformance, append_assigns_consecutive_seqs_and_writes_them_back) {
  auto db = open();
  std::vector<event> first{make_event("a"), make_event("b"), make_event("c")};
  auto outcomes = db->append(first);
  EXPECT_EQ(seqs_of(outcomes), (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ(duplicates_of(outcomes), (std::vector<bool>{false, false, false}));
  EXPECT_EQ(seqs_of(first), (std::vector<uint64_t>{1, 2, 3}));

  std::vector<event> second{make_event("d"), make_event("e")};
  EXPECT_EQ(seqs_of(db->append(second)), (std::vector<uint64_t>{4, 5}));
  EXPECT_EQ(seqs_of(second), (std::vector<uint64_t>{4, 5}));

  auto stored = all_events(*db);
  ASSERT_EQ(stored.size(), 5u);
  EXPECT_EQ(stored[0], first[0]);
  EXPECT_EQ(stored[4], second[1]);
}

TEST_P(store_conformance, empty_batch_stores_nothing) {
  auto db = open();
  std::vector<event> none;
  EXPECT_TRUE(db->append(none).empty());
  expect_stats(*db, {0, 0, 0, 0});
  EXPECT_EQ(append_one(*db, make_event("a")).seq, 1u);
}

// ---- dedup ----------------------------------------------------------------

TEST_P(store_conformance, duplicate_id_in_a_later_batch_returns_the_stored_seq) {
  auto db = open();
  std::vector<event> first{make_event("a", "t.one", now_us(), "1"), make_event("b")};
  db->append(first);

  std::vector<event> second{make_event("a", "t.two", now_us(), "2"), make_event("c")};
  auto outcomes = db->append(second);
  EXPECT_EQ(seqs_of(outcomes), (std::vector<uint64_t>{1, 3}));
  EXPECT_EQ(duplicates_of(outcomes), (std::vector<bool>{true, false}));

  EXPECT_EQ(seqs_of(all_events(*db)), (std::vector<uint64_t>{1, 2, 3}));
  auto a = db->find("a");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->topic, "t.one"); // the first one stays, the duplicate is not stored
  EXPECT_EQ(a->data, "1");
  EXPECT_EQ(db->stats().events, 3u);
}

TEST_P(store_conformance, duplicate_id_within_one_batch_is_stored_once) {
  auto db = open();
  std::vector<event> batch{make_event("x", "t", now_us(), "first"), make_event("y"),
                           make_event("x", "t", now_us(), "second")};
  auto outcomes = db->append(batch);
  EXPECT_EQ(seqs_of(outcomes), (std::vector<uint64_t>{1, 2, 1}));
  EXPECT_EQ(duplicates_of(outcomes), (std::vector<bool>{false, false, true}));
  expect_stats(*db, {1, 2, 2, size_of(batch[0]) + size_of(batch[1])});
  EXPECT_EQ(db->find("x")->data, "first");
  // The next new event follows directly: the duplicate used no seq.
  EXPECT_EQ(append_one(*db, make_event("z")).seq, 3u);
}

TEST_P(store_conformance, dedup_survives_closing_and_reopening) {
  {
    auto db = open();
    append_one(*db, make_event("a"));
    append_one(*db, make_event("b"));
  }
  auto db = open();
  auto outcome = append_one(*db, make_event("a", "other", now_us(), "again"));
  EXPECT_EQ(outcome.seq, 1u);
  EXPECT_TRUE(outcome.duplicate);
  EXPECT_EQ(db->stats().events, 2u);
  EXPECT_EQ(seqs_of(all_events(*db)), (std::vector<uint64_t>{1, 2}));
}

// The window is measured from the stored event's time_us.
TEST_P(store_conformance, dedup_window_is_24_hours_from_the_stored_event_time) {
  struct row {
    int64_t age_us;
    bool duplicate;
  };
  for (auto [age_us, duplicate] : {row{25 * hour_us, false}, row{23 * hour_us, true}}) {
    SCOPED_TRACE("stored event is " + std::to_string(age_us / hour_us) + " h old");
    auto scratch = GetParam().fresh();
    auto db = scratch->open(store_access::read_write);
    append_one(*db, make_event("old", "t", now_us() - age_us, "stored"));

    auto outcome = append_one(*db, make_event("old", "t", now_us(), "again"));
    EXPECT_EQ(outcome.duplicate, duplicate);
    EXPECT_EQ(outcome.seq, duplicate ? 1u : 2u);
    EXPECT_EQ(db->stats().events, duplicate ? 1u : 2u);
    EXPECT_EQ(db->find("old")->data, duplicate ? "stored" : "again");
  }
}

TEST_P(store_conformance, dedup_outlives_retention_of_the_event) {
  auto db = open();
  append_one(*db, sized_event("a", 100));
  append_one(*db, sized_event("b", 10));
  EXPECT_EQ(db->enforce_retention({0, 50}, now_us()), 1u); // size cap deletes "a"
  EXPECT_FALSE(db->find("a"));

  auto outcome = append_one(*db, make_event("a"));
  EXPECT_TRUE(outcome.duplicate);
  EXPECT_EQ(outcome.seq, 1u);
  EXPECT_EQ(db->stats().events, 1u);
}

// ---- scan -----------------------------------------------------------------

bool only_a(std::string_view topic) { return topic == "a.x"; }
bool only_b(std::string_view topic) { return topic == "b.x"; }

TEST_P(store_scan_conformance, topic_filter_returns_matching_events_oldest_first) {
  uint64_t scanned_to = 0;
  auto events = db->scan(0, 100, only_a, 100, scanned_to);
  EXPECT_EQ(seqs_of(events), (std::vector<uint64_t>{1, 3, 5, 7, 9}));
  for (const auto& e : events)
    EXPECT_EQ(e.topic, "a.x");
  EXPECT_EQ(scanned_to, 10u);
}

TEST_P(store_scan_conformance, after_seq_is_exclusive) {
  uint64_t scanned_to = 0;
  EXPECT_EQ(seqs_of(db->scan(7, 100, keep_all, 100, scanned_to)), (std::vector<uint64_t>{8, 9, 10}));
  EXPECT_EQ(scanned_to, 10u);
}

TEST_P(store_scan_conformance, limit_stops_at_the_last_returned_event) {
  uint64_t scanned_to = 0;
  EXPECT_EQ(seqs_of(db->scan(0, 2, keep_all, 100, scanned_to)), (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(scanned_to, 2u);
  EXPECT_EQ(seqs_of(db->scan(0, 2, only_b, 100, scanned_to)), (std::vector<uint64_t>{2, 4}));
  EXPECT_EQ(scanned_to, 4u);
}

TEST_P(store_scan_conformance, max_scanned_bounds_the_rows_examined) {
  uint64_t scanned_to = 0;
  EXPECT_EQ(seqs_of(db->scan(0, 100, only_b, 3, scanned_to)), (std::vector<uint64_t>{2}));
  EXPECT_EQ(scanned_to, 3u);
  // Nothing matching within the bound: empty, but the cursor still advances.
  EXPECT_TRUE(db->scan(0, 100, [](std::string_view) { return false; }, 4, scanned_to).empty());
  EXPECT_EQ(scanned_to, 4u);
}

TEST_P(store_scan_conformance, scanned_to_resumes_a_scan_without_gaps_or_repeats) {
  std::vector<uint64_t> seen;
  uint64_t cursor = 0;
  for (int round = 0; round < 20 && cursor < 10; ++round) {
    uint64_t scanned_to = 0;
    for (const auto& e : db->scan(cursor, 100, only_b, 3, scanned_to))
      seen.push_back(e.seq);
    ASSERT_GT(scanned_to, cursor);
    cursor = scanned_to;
  }
  EXPECT_EQ(seen, (std::vector<uint64_t>{2, 4, 6, 8, 10}));
  EXPECT_EQ(cursor, 10u);
}

TEST_P(store_scan_conformance, past_the_end_returns_nothing_and_keeps_the_cursor) {
  uint64_t scanned_to = 0;
  EXPECT_TRUE(db->scan(10, 100, keep_all, 100, scanned_to).empty());
  EXPECT_EQ(scanned_to, 10u);
  EXPECT_TRUE(db->scan(50, 100, keep_all, 100, scanned_to).empty());
  EXPECT_EQ(scanned_to, 50u);
}

// ---- find -----------------------------------------------------------------

TEST_P(store_conformance, find_round_trips_binary_data_and_headers) {
  auto db = open();
  event binary = make_event("bin", "files.raw", 1'700'000'000'123'456,
                            std::string("\x00\x01\xff\xfe\x00zero\x00", 10));
  binary.binary = true;
  binary.headers = {{"content-type", "application/octet-stream"}, {"x-note", "ünïcødé ✓"}};
  event json = make_event("json", "orders.created", 1'700'000'000'000'001, R"({"order":42})");
  std::vector<event> batch{binary, json};
  db->append(batch);

  auto found = db->find("bin");
  ASSERT_TRUE(found);
  EXPECT_EQ(*found, batch[0]); // every field, incl. seq 1 and the embedded zero bytes
  EXPECT_EQ(found->data.size(), 10u);
  found = db->find("json");
  ASSERT_TRUE(found);
  EXPECT_EQ(*found, batch[1]);
  EXPECT_FALSE(found->binary);
  EXPECT_TRUE(found->headers.empty());

  EXPECT_FALSE(db->find("missing"));
  EXPECT_FALSE(db->find(""));

  // Still byte-exact after reopening, and counted byte for byte.
  db.reset();
  db = open();
  EXPECT_EQ(*db->find("bin"), batch[0]);
  EXPECT_EQ(db->stats().bytes, size_of(batch[0]) + size_of(batch[1]));
}

// ---- stats ----------------------------------------------------------------

TEST_P(store_conformance, stats_track_appends_reopen_and_retention) {
  auto db = open();
  expect_stats(*db, {0, 0, 0, 0});
  std::vector<event> batch{sized_event("a", 10), sized_event("b", 20), sized_event("c", 30)};
  db->append(batch);
  expect_stats(*db, {1, 3, 3, 60});

  db.reset();
  db = open();
  expect_stats(*db, {1, 3, 3, 60});

  EXPECT_EQ(db->enforce_retention({0, 55}, now_us()), 1u);
  expect_stats(*db, {2, 3, 2, 50});
  db.reset();
  db = open();
  expect_stats(*db, {2, 3, 2, 50});
}

// ---- retention ------------------------------------------------------------

TEST_P(store_conformance, retention_by_age_deletes_events_older_than_max_age) {
  auto db = open();
  const int64_t now = now_us();
  std::vector<event> batch{sized_event("a", 10, now - 10 * hour_us),
                           sized_event("b", 10, now - 6 * hour_us),
                           sized_event("c", 10, now - 4 * hour_us), sized_event("d", 10, now)};
  db->append(batch);

  EXPECT_EQ(db->enforce_retention({5 * hour_us, 0}, now), 2u);
  EXPECT_EQ(seqs_of(all_events(*db)), (std::vector<uint64_t>{3, 4}));
  expect_stats(*db, {3, 4, 2, 20});
  EXPECT_FALSE(db->find("a"));
  EXPECT_TRUE(db->find("c"));

  // Already within the policy: nothing more to delete.
  EXPECT_EQ(db->enforce_retention({5 * hour_us, 0}, now), 0u);
  EXPECT_EQ(db->stats().events, 2u);
}

TEST_P(store_conformance, retention_with_zero_limits_keeps_everything) {
  auto db = open();
  const int64_t now = now_us();
  std::vector<event> batch{sized_event("a", 1000, now - 1000 * hour_us), sized_event("b", 1000, now)};
  db->append(batch);
  EXPECT_EQ(db->enforce_retention({0, 0}, now), 0u);
  expect_stats(*db, {1, 2, 2, 2000});
}

// Size retention deletes from the oldest until the rest fits, whatever the
// individual sizes: the survivors are always the newest events.
TEST_P(store_conformance, retention_by_size_deletes_the_oldest_first) {
  struct row {
    std::vector<std::size_t> sizes;
    uint64_t max_bytes;
    std::vector<uint64_t> kept;
  };
  const std::vector<row> rows{
    {{10, 10, 10, 10, 10}, 50, {1, 2, 3, 4, 5}},   // fits exactly
    {{10, 10, 10, 10, 10}, 25, {4, 5}},            // 50 → 20
    {{10, 100, 10, 10}, 120, {2, 3, 4}},           // the small oldest goes, not the big one
    {{100, 10, 10, 10}, 25, {3, 4}},               // big oldest plus one more
    {{10, 10, 10, 100}, 99, {}},                   // the newest alone is too big: all go
    {{10, 20, 30}, 1, {}},
  };
  for (const auto& [sizes, max_bytes, kept] : rows) {
    SCOPED_TRACE("max_bytes " + std::to_string(max_bytes));
    auto scratch = GetParam().fresh();
    auto db = scratch->open(store_access::read_write);
    std::vector<event> batch;
    for (std::size_t i = 0; i < sizes.size(); ++i)
      batch.push_back(sized_event("e" + std::to_string(i + 1), sizes[i]));
    db->append(batch);

    auto deleted = db->enforce_retention({0, max_bytes}, now_us());
    EXPECT_EQ(deleted, sizes.size() - kept.size());
    EXPECT_EQ(seqs_of(all_events(*db)), kept);
    uint64_t kept_bytes = 0;
    for (auto seq : kept)
      kept_bytes += sizes[seq - 1];
    EXPECT_LE(kept_bytes, max_bytes);
    expect_stats(*db, {kept.empty() ? 0 : kept.front(), sizes.size(), kept.size(), kept_bytes});
  }
}

TEST_P(store_conformance, retention_by_age_and_size_together_applies_the_stricter) {
  auto db = open();
  const int64_t now = now_us();
  std::vector<event> batch{sized_event("a", 10, now - 10 * hour_us), sized_event("b", 10, now),
                           sized_event("c", 10, now), sized_event("d", 10, now)};
  db->append(batch);
  // Age alone would delete 1; size alone (max 20) would delete 2.
  EXPECT_EQ(db->enforce_retention({5 * hour_us, 20}, now), 2u);
  EXPECT_EQ(seqs_of(all_events(*db)), (std::vector<uint64_t>{3, 4}));
}

TEST_P(store_conformance, seqs_keep_increasing_after_retention_deleted_everything) {
  auto db = open();
  const int64_t old = now_us() - 48 * hour_us;
  std::vector<event> batch{make_event("a", "t", old), make_event("b", "t", old),
                           make_event("c", "t", old)};
  db->append(batch);
  EXPECT_EQ(db->enforce_retention({hour_us, 0}, now_us()), 3u);
  expect_stats(*db, {0, 3, 0, 0});

  EXPECT_EQ(append_one(*db, make_event("d")).seq, 4u);
  EXPECT_EQ(db->enforce_retention({0, 1}, now_us()), 1u);
  expect_stats(*db, {0, 4, 0, 0});

  db.reset();
  db = open();
  expect_stats(*db, {0, 4, 0, 0});
  auto outcome = append_one(*db, make_event("e"));
  EXPECT_EQ(outcome.seq, 5u);
  EXPECT_FALSE(outcome.duplicate);
  expect_stats(*db, {5, 5, 1, size_of(make_event("e"))});
  // The ids of the deleted events were more than 24 h old: publishing them
  // again stores them as new events.
  EXPECT_EQ(append_one(*db, make_event("a")).seq, 6u);
}

// ---- registry -------------------------------------------------------------

TEST_P(store_conformance, registry_put_load_replace_and_remove) {
  auto db = open();
  EXPECT_TRUE(db->load_records("token").empty());
  db->put_record({"token", "b", R"({"scopes":["admin"]})", 1});
  db->put_record({"token", "a", R"({"scopes":["publish:>"]})", 1});
  db->put_record({"endpoint", "a", R"({"url":"http://x"})", 7});

  auto tokens = db->load_records("token");
  ASSERT_EQ(tokens.size(), 2u);
  EXPECT_EQ(tokens[0].kind, "token");
  EXPECT_EQ(tokens[0].id, "a");
  EXPECT_EQ(tokens[0].body, R"({"scopes":["publish:>"]})");
  EXPECT_EQ(tokens[0].version, 1u);
  EXPECT_EQ(tokens[1].id, "b");
  auto endpoints = db->load_records("endpoint");
  ASSERT_EQ(endpoints.size(), 1u);
  EXPECT_EQ(endpoints[0].version, 7u);

  db->put_record({"token", "a", R"({"scopes":[]})", 2}); // replaces, does not add
  tokens = db->load_records("token");
  ASSERT_EQ(tokens.size(), 2u);
  EXPECT_EQ(tokens[0].body, R"({"scopes":[]})");
  EXPECT_EQ(tokens[0].version, 2u);

  db->put_record(tokens[1].tombstone()); // deletes b, keeping its version
  db.reset();
  db = open(); // and it all persists
  tokens = db->load_records("token");
  ASSERT_EQ(tokens.size(), 2u);
  EXPECT_EQ(tokens[0].id, "a");
  EXPECT_EQ(tokens[0].version, 2u);
  EXPECT_FALSE(tokens[0].deleted());
  EXPECT_EQ(tokens[1].id, "b");
  EXPECT_TRUE(tokens[1].deleted());
  EXPECT_EQ(tokens[1].version, 2u);
  EXPECT_FALSE(db->load_records("endpoint")[0].deleted()); // same id, other kind: untouched
}

// ---- read-only store beside the writer ------------------------------------

TEST_P(store_conformance, read_only_store_sees_committed_appends) {
  auto writer = open(store_access::read_write);
  auto reader = open(store_access::read_only);
  uint64_t scanned_to = 0;
  EXPECT_TRUE(reader->scan(0, 100, keep_all, 100, scanned_to).empty());

  std::vector<event> batch{make_event("a"), make_event("b")};
  writer->append(batch);
  EXPECT_EQ(seqs_of(reader->scan(0, 100, keep_all, 100, scanned_to)), (std::vector<uint64_t>{1, 2}));
  ASSERT_TRUE(reader->find("b"));
  EXPECT_EQ(*reader->find("b"), batch[1]);

  append_one(*writer, make_event("c"));
  EXPECT_EQ(seqs_of(reader->scan(2, 100, keep_all, 100, scanned_to)), (std::vector<uint64_t>{3}));
}

TEST_P(store_conformance, read_only_store_refuses_to_append) {
  auto writer = open(store_access::read_write);
  auto reader = open(store_access::read_only);
  std::vector<event> batch{make_event("a")};
  EXPECT_THROW(reader->append(batch), std::runtime_error);
  EXPECT_FALSE(writer->find("a"));
  EXPECT_EQ(append_one(*writer, make_event("b")).seq, 1u);
}

// ---- scan_local -------------------------------------------------------------

TEST_P(store_conformance, scan_local_skips_events_with_an_origin) {
  auto db = open();
  append_all(*db, {local("a"), remote("b", "n2", 5), local("c"), remote("d", "n3", 1), local("e"),
               remote("f", "n2", 6)});
  auto p = scan_local(*db, 0);
  EXPECT_EQ(seqs_of(p.events), (std::vector<uint64_t>{1, 3, 5}));
  for (const auto& e : p.events)
    EXPECT_TRUE(e.origin.empty()) << e.id;
  EXPECT_EQ(p.scanned_to, 5u);
  EXPECT_TRUE(p.at_end);
  // scan() still sees everything.
  EXPECT_EQ(seqs_of(all_events(*db)), (std::vector<uint64_t>{1, 2, 3, 4, 5, 6}));
}

TEST_P(store_conformance, scan_local_of_only_remote_events_is_empty_and_at_end) {
  auto db = open();
  append_all(*db, {remote("a", "n2", 1), remote("b", "n2", 2)});
  auto p = scan_local(*db, 0);
  EXPECT_TRUE(p.events.empty());
  EXPECT_EQ(p.scanned_to, 0u);  // nothing examined: the cursor stays
  EXPECT_TRUE(p.at_end);
}

TEST_P(store_conformance, scan_local_of_an_empty_store_is_at_end) {
  auto db = open();
  auto p = scan_local(*db, 0);
  EXPECT_TRUE(p.events.empty());
  EXPECT_EQ(p.scanned_to, 0u);
  EXPECT_TRUE(p.at_end);
  p = scan_local(*db, 77);
  EXPECT_EQ(p.scanned_to, 77u);
  EXPECT_TRUE(p.at_end);
}

TEST_P(store_conformance, scan_local_limit_is_not_at_end_while_local_events_follow) {
  auto db = open();
  append_all(*db, {local("a"), remote("b", "n2", 5), local("c"), local("d"), remote("e", "n2", 6)});
  auto p = scan_local(*db, 0, 2);
  EXPECT_EQ(seqs_of(p.events), (std::vector<uint64_t>{1, 3}));
  EXPECT_EQ(p.scanned_to, 3u);
  EXPECT_FALSE(p.at_end);  // 4 follows
  p = scan_local(*db, p.scanned_to, 2);
  EXPECT_EQ(seqs_of(p.events), (std::vector<uint64_t>{4}));
  EXPECT_EQ(p.scanned_to, 4u);
  EXPECT_TRUE(p.at_end);  // only a remote event follows
}

TEST_P(store_conformance, scan_local_max_scanned_is_not_at_end_while_local_events_follow) {
  auto db = open();
  append_all(*db, {local("a", "audit.x"), local("b"), remote("c", "n2", 1), local("d", "audit.y"),
               local("e")});
  auto orders = [](std::string_view t) { return t.rfind("orders.", 0) == 0; };
  auto p = scan_local(*db, 0, 100, 1, orders);
  EXPECT_TRUE(p.events.empty());
  EXPECT_EQ(p.scanned_to, 1u);
  EXPECT_FALSE(p.at_end);
  p = scan_local(*db, 1, 100, 2, orders);
  EXPECT_EQ(seqs_of(p.events), (std::vector<uint64_t>{2}));
  EXPECT_EQ(p.scanned_to, 4u);  // filtered-out events move the cursor too
  EXPECT_FALSE(p.at_end);
  p = scan_local(*db, 4, 100, 2, orders);
  EXPECT_EQ(seqs_of(p.events), (std::vector<uint64_t>{5}));
  EXPECT_EQ(p.scanned_to, 5u);
  EXPECT_TRUE(p.at_end);
}

TEST_P(store_conformance, scan_local_at_end_only_when_no_local_event_follows) {
  // Over many page shapes: at_end is never claimed while a local event follows,
  // and resuming from scanned_to until at_end yields each local event once.
  auto db = open();
  std::vector<event> batch;
  std::vector<uint64_t> wanted_local;
  for (int i = 0; i < 40; ++i) {
    const auto seq = static_cast<uint64_t>(i + 1);
    if (i % 3 == 1) {
      batch.push_back(remote("r" + std::to_string(i), "n2", seq));
    } else {
      bool wanted = i % 5 != 0;
      batch.push_back(local("l" + std::to_string(i), wanted ? "orders.a" : "audit.a"));
      if (wanted)
        wanted_local.push_back(seq);
    }
  }
  uint64_t last_local = 0;
  for (std::size_t i = 0; i < batch.size(); ++i)
    if (batch[i].origin.empty())
      last_local = i + 1;
  ASSERT_EQ(append_all(*db, batch).back().seq, batch.size());
  auto orders = [](std::string_view t) { return t.rfind("orders.", 0) == 0; };
  for (std::size_t limit : {1u, 2u, 3u, 7u, 100u})
    for (std::size_t max_scanned : {1u, 2u, 5u, 100u}) {
      SCOPED_TRACE("limit " + std::to_string(limit) + " max_scanned " + std::to_string(max_scanned));
      std::vector<uint64_t> got;
      uint64_t after = 0;
      bool done = false;
      for (int page = 0; page < 200 && !done; ++page) {
        auto p = scan_local(*db, after, limit, max_scanned, orders);
        EXPECT_LE(p.events.size(), limit);
        EXPECT_GE(p.scanned_to, after);
        for (const auto& e : p.events) {
          EXPECT_GT(e.seq, after);
          EXPECT_LE(e.seq, p.scanned_to);
          got.push_back(e.seq);
        }
        if (p.at_end)
          EXPECT_EQ(p.scanned_to, std::max(after, last_local)) << "at_end with local events left";
        else
          EXPECT_TRUE(p.scanned_to > after) << "no progress and not at end";
        after = p.scanned_to;
        done = p.at_end;
      }
      EXPECT_TRUE(done);
      EXPECT_EQ(got, wanted_local);
    }
}

TEST_P(store_conformance, scan_local_sees_events_appended_after_at_end) {
  auto db = open();
  append_all(*db, {local("a")});
  auto p = scan_local(*db, 0);
  ASSERT_TRUE(p.at_end);
  append_all(*db, {remote("b", "n2", 1), local("c")});
  p = scan_local(*db, p.scanned_to);
  EXPECT_EQ(seqs_of(p.events), (std::vector<uint64_t>{3}));
  EXPECT_TRUE(p.at_end);
}

// ---- peer cursors --------------------------------------------------------------

TEST_P(store_conformance, a_new_store_has_no_peer_cursors) {
  auto db = open();
  EXPECT_TRUE(db->load_peer_cursors().empty());
  append_all(*db, {local("a"), local("b")});
  EXPECT_TRUE(db->load_peer_cursors().empty());  // local events have no origin
}

TEST_P(store_conformance, appending_peer_events_advances_their_cursors) {
  auto db = open();
  append_all(*db, {remote("a", "n2", 3), local("x"), remote("b", "n2", 4), remote("c", "n3", 10)});
  EXPECT_EQ(db->load_peer_cursors(), (std::map<std::string, uint64_t>{{"n2", 4}, {"n3", 10}}));
  append_all(*db, {remote("d", "n2", 9)});
  EXPECT_EQ(db->load_peer_cursors(), (std::map<std::string, uint64_t>{{"n2", 9}, {"n3", 10}}));
}

TEST_P(store_conformance, the_highest_origin_seq_of_a_batch_wins_whatever_the_order) {
  auto db = open();
  append_all(*db, {remote("a", "n2", 8), remote("b", "n2", 5)});
  EXPECT_EQ(db->load_peer_cursors().at("n2"), 8u);
}

TEST_P(store_conformance, peer_cursors_never_move_back) {
  auto db = open();
  append_all(*db, {remote("a", "n2", 20)});
  append_all(*db, {remote("b", "n2", 7)});
  EXPECT_EQ(db->load_peer_cursors().at("n2"), 20u);
}

TEST_P(store_conformance, duplicates_advance_the_peer_cursor_too) {
  auto db = open();
  auto first = append_all(*db, {remote("same-id", "n2", 3)});
  ASSERT_FALSE(first.at(0).duplicate);
  // The same event again (e.g. published on n2 and already received another way).
  auto again = append_all(*db, {remote("same-id", "n2", 6)});
  ASSERT_EQ(again.size(), 1u);
  EXPECT_TRUE(again[0].duplicate);
  EXPECT_EQ(again[0].seq, first[0].seq);
  EXPECT_EQ(db->load_peer_cursors().at("n2"), 6u);
  // A duplicate within one batch, and a duplicate of a local event.
  append_all(*db, {local("mine"), remote("dup2", "n3", 1), remote("dup2", "n3", 2),
               remote("mine", "n4", 11)});
  EXPECT_EQ(db->load_peer_cursors(),
            (std::map<std::string, uint64_t>{{"n2", 6}, {"n3", 2}, {"n4", 11}}));
  EXPECT_EQ(db->stats().events, 3u);  // same-id, mine, dup2
}

TEST_P(store_conformance, peer_cursors_survive_reopen) {
  {
    auto db = open();
    append_all(*db, {remote("a", "n2", 3), remote("b", "n3", 44)});
    append_all(*db, {remote("a", "n2", 5)});  // a duplicate
  }
  auto db = open();
  EXPECT_EQ(db->load_peer_cursors(), (std::map<std::string, uint64_t>{{"n2", 5}, {"n3", 44}}));
  append_all(*db, {remote("c", "n2", 6)});
  EXPECT_EQ(db->load_peer_cursors().at("n2"), 6u);
}

TEST_P(store_conformance, a_read_only_store_sees_peer_cursors_and_local_events) {
  auto writer = open();
  auto reader = open(store_access::read_only);
  append_all(*writer, {local("a"), remote("b", "n2", 9), local("c")});
  EXPECT_EQ(reader->load_peer_cursors(), (std::map<std::string, uint64_t>{{"n2", 9}}));
  auto p = scan_local(*reader, 0);
  EXPECT_EQ(seqs_of(p.events), (std::vector<uint64_t>{1, 3}));
  EXPECT_TRUE(p.at_end);
}

// ---- origin round trip ---------------------------------------------------------

TEST_P(store_conformance, origin_and_origin_seq_round_trip_through_scan_and_find) {
  auto db = open();
  auto r = remote("from-n2", "node-2", 123456789012ull, "orders.shipped");
  r.headers = {{"k", "v"}};
  r.binary = true;
  r.data = std::string("\x00\x01\xff", 3);
  append_all(*db, {local("here"), r});

  auto events = all_events(*db);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].origin, "");
  EXPECT_EQ(events[0].origin_seq, 0u);
  EXPECT_EQ(events[1].origin, "node-2");
  EXPECT_EQ(events[1].origin_seq, 123456789012ull);
  auto expected = r;
  expected.seq = 2;
  EXPECT_EQ(events[1], expected);

  auto found = db->find("from-n2");
  ASSERT_TRUE(found);
  EXPECT_EQ(*found, expected);
  auto mine = db->find("here");
  ASSERT_TRUE(mine);
  EXPECT_EQ(mine->origin, "");
  EXPECT_EQ(mine->origin_seq, 0u);
}

TEST_P(store_conformance, origin_survives_reopen_and_read_only_access) {
  { append_all(*open(), {remote("a", "n9", 77)}); }
  auto reader = open(store_access::read_only);
  auto found = reader->find("a");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->origin, "n9");
  EXPECT_EQ(found->origin_seq, 77u);
}


} // namespace
} // namespace evmesh::test
