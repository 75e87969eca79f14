// Tests of the SQLite event store (node/store.hpp, node/sqlite_store.cpp):
// seq assignment, 24 h id dedup (across batches, within a batch, across
// reopen, expiry by the stored event's time), scan with filter / limit /
// max_scanned / resume cursor, find with binary data and headers, stats,
// retention by age and by size, seqs after retention and reopen, the token
// registry, a read-only store beside the writer (WAL), and open errors
// (a newer schema version is refused and the refused open closes the file).
#include "node/store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace fs = std::filesystem;
using evmesh::append_outcome;
using evmesh::event;
using evmesh::now_us;
using evmesh::open_sqlite_store;
using evmesh::registry_record;
using evmesh::retention_policy;
using evmesh::store;
using evmesh::store_access;
using evmesh::store_stats;

constexpr int64_t hour_us = int64_t{3600} * 1000 * 1000;

// A fresh directory under the system temp dir, removed with everything in it.
class temp_dir {
public:
  temp_dir() {
    static std::atomic<int> counter{0};
    std::random_device random;
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::temp_directory_path() /
            ("evmesh-store-" + std::string(info ? info->name() : "x") + "-" +
             std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" +
             std::to_string(random()));
    fs::create_directories(path_);
  }
  ~temp_dir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const fs::path& path() const { return path_; }

private:
  fs::path path_;
};

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

std::vector<uint64_t> seqs_of(const std::vector<event>& events) {
  std::vector<uint64_t> out;
  for (const auto& e : events)
    out.push_back(e.seq);
  return out;
}

std::vector<uint64_t> seqs_of(const std::vector<append_outcome>& outcomes) {
  std::vector<uint64_t> out;
  for (const auto& o : outcomes)
    out.push_back(o.seq);
  return out;
}

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

class sqlite_store_test : public ::testing::Test {
protected:
  std::unique_ptr<store> open(store_access access = store_access::read_write) {
    return open_sqlite_store(dir_.path(), access);
  }

  append_outcome append_one(store& db, event e) {
    std::vector<event> batch{std::move(e)};
    auto outcomes = db.append(batch);
    EXPECT_EQ(outcomes.size(), 1u);
    return outcomes.empty() ? append_outcome{} : outcomes.front();
  }

  // Every retained event, oldest first.
  std::vector<event> all_events(store& db) {
    uint64_t scanned_to = 0;
    return db.scan(0, 1'000'000, keep_all, 1'000'000, scanned_to);
  }

  const fs::path& dir() const { return dir_.path(); }
  fs::path db_file() const { return dir_.path() / "evmesh.db"; }

private:
  temp_dir dir_;
};

// ---- append and seqs ------------------------------------------------------

TEST_F(sqlite_store_test, append_assigns_consecutive_seqs_and_writes_them_back) {
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

TEST_F(sqlite_store_test, empty_batch_stores_nothing) {
  auto db = open();
  std::vector<event> none;
  EXPECT_TRUE(db->append(none).empty());
  expect_stats(*db, {0, 0, 0, 0});
  EXPECT_EQ(append_one(*db, make_event("a")).seq, 1u);
}

// ---- dedup ----------------------------------------------------------------

TEST_F(sqlite_store_test, duplicate_id_in_a_later_batch_returns_the_stored_seq) {
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

TEST_F(sqlite_store_test, duplicate_id_within_one_batch_is_stored_once) {
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

TEST_F(sqlite_store_test, dedup_survives_closing_and_reopening) {
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
TEST_F(sqlite_store_test, dedup_window_is_24_hours_from_the_stored_event_time) {
  struct row {
    int64_t age_us;
    bool duplicate;
  };
  for (auto [age_us, duplicate] : {row{25 * hour_us, false}, row{23 * hour_us, true}}) {
    SCOPED_TRACE("stored event is " + std::to_string(age_us / hour_us) + " h old");
    temp_dir scratch;
    auto db = open_sqlite_store(scratch.path(), store_access::read_write);
    append_one(*db, make_event("old", "t", now_us() - age_us, "stored"));

    auto outcome = append_one(*db, make_event("old", "t", now_us(), "again"));
    EXPECT_EQ(outcome.duplicate, duplicate);
    EXPECT_EQ(outcome.seq, duplicate ? 1u : 2u);
    EXPECT_EQ(db->stats().events, duplicate ? 1u : 2u);
    EXPECT_EQ(db->find("old")->data, duplicate ? "stored" : "again");
  }
}

TEST_F(sqlite_store_test, dedup_outlives_retention_of_the_event) {
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

class sqlite_store_scan_test : public sqlite_store_test {
protected:
  // Seqs 1..10; odd seqs on "a.x", even seqs on "b.x".
  void SetUp() override {
    db = open();
    std::vector<event> batch;
    for (int i = 1; i <= 10; ++i)
      batch.push_back(make_event("e" + std::to_string(i), i % 2 ? "a.x" : "b.x"));
    db->append(batch);
  }
  static bool only_a(std::string_view topic) { return topic == "a.x"; }
  static bool only_b(std::string_view topic) { return topic == "b.x"; }
  std::unique_ptr<store> db;
};

TEST_F(sqlite_store_scan_test, topic_filter_returns_matching_events_oldest_first) {
  uint64_t scanned_to = 0;
  auto events = db->scan(0, 100, only_a, 100, scanned_to);
  EXPECT_EQ(seqs_of(events), (std::vector<uint64_t>{1, 3, 5, 7, 9}));
  for (const auto& e : events)
    EXPECT_EQ(e.topic, "a.x");
  EXPECT_EQ(scanned_to, 10u);
}

TEST_F(sqlite_store_scan_test, after_seq_is_exclusive) {
  uint64_t scanned_to = 0;
  EXPECT_EQ(seqs_of(db->scan(7, 100, keep_all, 100, scanned_to)), (std::vector<uint64_t>{8, 9, 10}));
  EXPECT_EQ(scanned_to, 10u);
}

TEST_F(sqlite_store_scan_test, limit_stops_at_the_last_returned_event) {
  uint64_t scanned_to = 0;
  EXPECT_EQ(seqs_of(db->scan(0, 2, keep_all, 100, scanned_to)), (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(scanned_to, 2u);
  EXPECT_EQ(seqs_of(db->scan(0, 2, only_b, 100, scanned_to)), (std::vector<uint64_t>{2, 4}));
  EXPECT_EQ(scanned_to, 4u);
}

TEST_F(sqlite_store_scan_test, max_scanned_bounds_the_rows_examined) {
  uint64_t scanned_to = 0;
  EXPECT_EQ(seqs_of(db->scan(0, 100, only_b, 3, scanned_to)), (std::vector<uint64_t>{2}));
  EXPECT_EQ(scanned_to, 3u);
  // Nothing matching within the bound: empty, but the cursor still advances.
  EXPECT_TRUE(db->scan(0, 100, [](std::string_view) { return false; }, 4, scanned_to).empty());
  EXPECT_EQ(scanned_to, 4u);
}

TEST_F(sqlite_store_scan_test, scanned_to_resumes_a_scan_without_gaps_or_repeats) {
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

TEST_F(sqlite_store_scan_test, past_the_end_returns_nothing_and_keeps_the_cursor) {
  uint64_t scanned_to = 0;
  EXPECT_TRUE(db->scan(10, 100, keep_all, 100, scanned_to).empty());
  EXPECT_EQ(scanned_to, 10u);
  EXPECT_TRUE(db->scan(50, 100, keep_all, 100, scanned_to).empty());
  EXPECT_EQ(scanned_to, 50u);
}

// ---- find -----------------------------------------------------------------

TEST_F(sqlite_store_test, find_round_trips_binary_data_and_headers) {
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

TEST_F(sqlite_store_test, stats_track_appends_reopen_and_retention) {
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

TEST_F(sqlite_store_test, retention_by_age_deletes_events_older_than_max_age) {
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

TEST_F(sqlite_store_test, retention_with_zero_limits_keeps_everything) {
  auto db = open();
  const int64_t now = now_us();
  std::vector<event> batch{sized_event("a", 1000, now - 1000 * hour_us), sized_event("b", 1000, now)};
  db->append(batch);
  EXPECT_EQ(db->enforce_retention({0, 0}, now), 0u);
  expect_stats(*db, {1, 2, 2, 2000});
}

// Size retention deletes from the oldest until the rest fits, whatever the
// individual sizes: the survivors are always the newest events.
TEST_F(sqlite_store_test, retention_by_size_deletes_the_oldest_first) {
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
    temp_dir scratch;
    auto db = open_sqlite_store(scratch.path(), store_access::read_write);
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

TEST_F(sqlite_store_test, retention_by_age_and_size_together_applies_the_stricter) {
  auto db = open();
  const int64_t now = now_us();
  std::vector<event> batch{sized_event("a", 10, now - 10 * hour_us), sized_event("b", 10, now),
                           sized_event("c", 10, now), sized_event("d", 10, now)};
  db->append(batch);
  // Age alone would delete 1; size alone (max 20) would delete 2.
  EXPECT_EQ(db->enforce_retention({5 * hour_us, 20}, now), 2u);
  EXPECT_EQ(seqs_of(all_events(*db)), (std::vector<uint64_t>{3, 4}));
}

TEST_F(sqlite_store_test, seqs_keep_increasing_after_retention_deleted_everything) {
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

TEST_F(sqlite_store_test, registry_put_load_replace_and_remove) {
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

TEST_F(sqlite_store_test, read_only_store_sees_committed_appends) {
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
  EXPECT_TRUE(fs::exists(dir() / "evmesh.db-wal"));
}

TEST_F(sqlite_store_test, read_only_store_refuses_to_append) {
  auto writer = open(store_access::read_write);
  auto reader = open(store_access::read_only);
  std::vector<event> batch{make_event("a")};
  EXPECT_THROW(reader->append(batch), std::runtime_error);
  EXPECT_FALSE(writer->find("a"));
  EXPECT_EQ(append_one(*writer, make_event("b")).seq, 1u);
}

// ---- open errors ----------------------------------------------------------

TEST_F(sqlite_store_test, uncreatable_directory_throws_naming_the_path) {
  auto blocker = dir() / "a-file";
  std::ofstream(blocker) << "not a directory";
  auto target = blocker / "data";
  try {
    open_sqlite_store(target, store_access::read_write);
    FAIL() << "expected std::runtime_error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(target.string()), std::string::npos) << e.what();
  }
}

TEST_F(sqlite_store_test, missing_directories_are_created) {
  auto nested = dir() / "data" / "node-1";
  {
    auto db = open_sqlite_store(nested, store_access::read_write);
    append_one(*db, make_event("a"));
  }
  EXPECT_TRUE(fs::is_regular_file(nested / "evmesh.db"));
  EXPECT_TRUE(open_sqlite_store(nested, store_access::read_write)->find("a"));
}

TEST_F(sqlite_store_test, current_schema_version_reopens) {
  { open(); }
  EXPECT_NO_THROW(open());
}

// Sets meta.schema_version in <dir>/evmesh.db with the sqlite3 C API.
void set_schema_version(const fs::path& file, const std::string& version) {
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(file.c_str(), &raw), SQLITE_OK);
  char* message = nullptr;
  int rc = sqlite3_exec(raw, ("UPDATE meta SET value = '" + version + "' WHERE key = 'schema_version'").c_str(),
                        nullptr, nullptr, &message);
  std::string reason = message ? message : "";
  sqlite3_free(message);
  int changed = sqlite3_changes(raw);
  sqlite3_close(raw);
  ASSERT_EQ(rc, SQLITE_OK) << reason;
  ASSERT_EQ(changed, 1);
}

// How many of this process's file descriptors are open on `file`.
std::size_t descriptors_open_on(const fs::path& file) {
  auto wanted = fs::canonical(file);
  std::size_t n = 0;
  for (const auto& entry : fs::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    auto target = fs::read_symlink(entry.path(), ec);
    if (!ec && target == wanted)
      ++n;
  }
  return n;
}

TEST_F(sqlite_store_test, newer_schema_version_is_refused) {
  {
    auto db = open();
    append_one(*db, make_event("a"));
  }
  set_schema_version(db_file(), "3");
  try {
    open();
    FAIL() << "expected std::runtime_error";
  } catch (const std::runtime_error& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("newer"), std::string::npos) << what;
    EXPECT_NE(what.find(db_file().string()), std::string::npos) << what;
  }
}

TEST_F(sqlite_store_test, refused_open_leaves_the_database_file_closed) {
  { open(); }
  set_schema_version(db_file(), "3");
  ASSERT_EQ(descriptors_open_on(db_file()), 0u);
  EXPECT_THROW(open(), std::runtime_error);
  EXPECT_EQ(descriptors_open_on(db_file()), 0u);
}

} // namespace
