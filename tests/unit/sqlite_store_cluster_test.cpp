// Tests of what the cluster added to the SQLite store (node/store.hpp,
// node/sqlite_store.cpp, schema 2): scan_local skips events received from
// peers and reports at_end; appending peers' events advances their cursors
// (duplicates too, never backwards, across reopen, visible to a read-only
// store); origin/origin_seq round-trip through scan and find; a schema-1
// database, built by hand with the sqlite3 C API, is migrated and keeps its
// events, ids and seqs.
#include "node/store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace fs = std::filesystem;
using evmesh::event;
using evmesh::now_us;
using evmesh::open_sqlite_store;
using evmesh::store;
using evmesh::store_access;

class temp_dir {
public:
  temp_dir() {
    static std::atomic<int> counter{0};
    std::random_device random;
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::temp_directory_path() /
            ("evmesh-cluster-store-" + std::string(info ? info->name() : "x") + "-" +
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

event local(std::string id, std::string topic = "orders.created") {
  event e;
  e.id = std::move(id);
  e.topic = std::move(topic);
  e.time_us = now_us();
  e.data = R"({"n":1})";
  return e;
}

event remote(std::string id, std::string origin, uint64_t origin_seq,
             std::string topic = "orders.created") {
  auto e = local(std::move(id), std::move(topic));
  e.origin = std::move(origin);
  e.origin_seq = origin_seq;
  return e;
}

bool keep_all(std::string_view) { return true; }

std::vector<uint64_t> seqs_of(const std::vector<event>& events) {
  std::vector<uint64_t> out;
  for (const auto& e : events)
    out.push_back(e.seq);
  return out;
}

struct local_page {
  std::vector<event> events;
  uint64_t scanned_to = 0;
  bool at_end = false;
};

class sqlite_store_cluster_test : public ::testing::Test {
protected:
  std::unique_ptr<store> open(store_access access = store_access::read_write) {
    return open_sqlite_store(dir_.path(), access);
  }

  std::vector<evmesh::append_outcome> append(store& db, std::vector<event> batch) {
    return db.append(batch);
  }

  local_page scan_local(store& db, uint64_t after, std::size_t limit = 1000,
                        std::size_t max_scanned = 100000,
                        const std::function<bool(std::string_view)>& keep = keep_all) {
    local_page p;
    p.scanned_to = 12345;  // must be overwritten
    p.at_end = true;
    p.events = db.scan_local(after, limit, keep, max_scanned, p.scanned_to, p.at_end);
    return p;
  }

  std::vector<event> all_events(store& db) {
    uint64_t scanned_to = 0;
    return db.scan(0, 1'000'000, keep_all, 1'000'000, scanned_to);
  }

  fs::path db_file() const { return dir_.path() / "evmesh.db"; }

private:
  temp_dir dir_;
};

// ---- scan_local -------------------------------------------------------------

TEST_F(sqlite_store_cluster_test, scan_local_skips_events_with_an_origin) {
  auto db = open();
  append(*db, {local("a"), remote("b", "n2", 5), local("c"), remote("d", "n3", 1), local("e"),
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

TEST_F(sqlite_store_cluster_test, scan_local_of_only_remote_events_is_empty_and_at_end) {
  auto db = open();
  append(*db, {remote("a", "n2", 1), remote("b", "n2", 2)});
  auto p = scan_local(*db, 0);
  EXPECT_TRUE(p.events.empty());
  EXPECT_EQ(p.scanned_to, 0u);  // nothing examined: the cursor stays
  EXPECT_TRUE(p.at_end);
}

TEST_F(sqlite_store_cluster_test, scan_local_of_an_empty_store_is_at_end) {
  auto db = open();
  auto p = scan_local(*db, 0);
  EXPECT_TRUE(p.events.empty());
  EXPECT_EQ(p.scanned_to, 0u);
  EXPECT_TRUE(p.at_end);
  p = scan_local(*db, 77);
  EXPECT_EQ(p.scanned_to, 77u);
  EXPECT_TRUE(p.at_end);
}

TEST_F(sqlite_store_cluster_test, scan_local_limit_is_not_at_end_while_local_events_follow) {
  auto db = open();
  append(*db, {local("a"), remote("b", "n2", 5), local("c"), local("d"), remote("e", "n2", 6)});
  auto p = scan_local(*db, 0, 2);
  EXPECT_EQ(seqs_of(p.events), (std::vector<uint64_t>{1, 3}));
  EXPECT_EQ(p.scanned_to, 3u);
  EXPECT_FALSE(p.at_end);  // 4 follows
  p = scan_local(*db, p.scanned_to, 2);
  EXPECT_EQ(seqs_of(p.events), (std::vector<uint64_t>{4}));
  EXPECT_EQ(p.scanned_to, 4u);
  EXPECT_TRUE(p.at_end);  // only a remote event follows
}

TEST_F(sqlite_store_cluster_test, scan_local_max_scanned_is_not_at_end_while_local_events_follow) {
  auto db = open();
  append(*db, {local("a", "audit.x"), local("b"), remote("c", "n2", 1), local("d", "audit.y"),
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

TEST_F(sqlite_store_cluster_test, scan_local_at_end_only_when_no_local_event_follows) {
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
  ASSERT_EQ(append(*db, batch).back().seq, batch.size());
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

TEST_F(sqlite_store_cluster_test, scan_local_sees_events_appended_after_at_end) {
  auto db = open();
  append(*db, {local("a")});
  auto p = scan_local(*db, 0);
  ASSERT_TRUE(p.at_end);
  append(*db, {remote("b", "n2", 1), local("c")});
  p = scan_local(*db, p.scanned_to);
  EXPECT_EQ(seqs_of(p.events), (std::vector<uint64_t>{3}));
  EXPECT_TRUE(p.at_end);
}

// ---- peer cursors --------------------------------------------------------------

TEST_F(sqlite_store_cluster_test, a_new_store_has_no_peer_cursors) {
  auto db = open();
  EXPECT_TRUE(db->load_peer_cursors().empty());
  append(*db, {local("a"), local("b")});
  EXPECT_TRUE(db->load_peer_cursors().empty());  // local events have no origin
}

TEST_F(sqlite_store_cluster_test, appending_peer_events_advances_their_cursors) {
  auto db = open();
  append(*db, {remote("a", "n2", 3), local("x"), remote("b", "n2", 4), remote("c", "n3", 10)});
  EXPECT_EQ(db->load_peer_cursors(), (std::map<std::string, uint64_t>{{"n2", 4}, {"n3", 10}}));
  append(*db, {remote("d", "n2", 9)});
  EXPECT_EQ(db->load_peer_cursors(), (std::map<std::string, uint64_t>{{"n2", 9}, {"n3", 10}}));
}

TEST_F(sqlite_store_cluster_test, the_highest_origin_seq_of_a_batch_wins_whatever_the_order) {
  auto db = open();
  append(*db, {remote("a", "n2", 8), remote("b", "n2", 5)});
  EXPECT_EQ(db->load_peer_cursors().at("n2"), 8u);
}

TEST_F(sqlite_store_cluster_test, peer_cursors_never_move_back) {
  auto db = open();
  append(*db, {remote("a", "n2", 20)});
  append(*db, {remote("b", "n2", 7)});
  EXPECT_EQ(db->load_peer_cursors().at("n2"), 20u);
}

TEST_F(sqlite_store_cluster_test, duplicates_advance_the_peer_cursor_too) {
  auto db = open();
  auto first = append(*db, {remote("same-id", "n2", 3)});
  ASSERT_FALSE(first.at(0).duplicate);
  // The same event again (e.g. published on n2 and already received another way).
  auto again = append(*db, {remote("same-id", "n2", 6)});
  ASSERT_EQ(again.size(), 1u);
  EXPECT_TRUE(again[0].duplicate);
  EXPECT_EQ(again[0].seq, first[0].seq);
  EXPECT_EQ(db->load_peer_cursors().at("n2"), 6u);
  // A duplicate within one batch, and a duplicate of a local event.
  append(*db, {local("mine"), remote("dup2", "n3", 1), remote("dup2", "n3", 2),
               remote("mine", "n4", 11)});
  EXPECT_EQ(db->load_peer_cursors(),
            (std::map<std::string, uint64_t>{{"n2", 6}, {"n3", 2}, {"n4", 11}}));
  EXPECT_EQ(db->stats().events, 3u);  // same-id, mine, dup2
}

TEST_F(sqlite_store_cluster_test, peer_cursors_survive_reopen) {
  {
    auto db = open();
    append(*db, {remote("a", "n2", 3), remote("b", "n3", 44)});
    append(*db, {remote("a", "n2", 5)});  // a duplicate
  }
  auto db = open();
  EXPECT_EQ(db->load_peer_cursors(), (std::map<std::string, uint64_t>{{"n2", 5}, {"n3", 44}}));
  append(*db, {remote("c", "n2", 6)});
  EXPECT_EQ(db->load_peer_cursors().at("n2"), 6u);
}

TEST_F(sqlite_store_cluster_test, a_read_only_store_sees_peer_cursors_and_local_events) {
  auto writer = open();
  auto reader = open(store_access::read_only);
  append(*writer, {local("a"), remote("b", "n2", 9), local("c")});
  EXPECT_EQ(reader->load_peer_cursors(), (std::map<std::string, uint64_t>{{"n2", 9}}));
  auto p = scan_local(*reader, 0);
  EXPECT_EQ(seqs_of(p.events), (std::vector<uint64_t>{1, 3}));
  EXPECT_TRUE(p.at_end);
}

// ---- origin round trip ---------------------------------------------------------

TEST_F(sqlite_store_cluster_test, origin_and_origin_seq_round_trip_through_scan_and_find) {
  auto db = open();
  auto r = remote("from-n2", "node-2", 123456789012ull, "orders.shipped");
  r.headers = {{"k", "v"}};
  r.binary = true;
  r.data = std::string("\x00\x01\xff", 3);
  append(*db, {local("here"), r});

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

TEST_F(sqlite_store_cluster_test, origin_survives_reopen_and_read_only_access) {
  { append(*open(), {remote("a", "n9", 77)}); }
  auto reader = open(store_access::read_only);
  auto found = reader->find("a");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->origin, "n9");
  EXPECT_EQ(found->origin_seq, 77u);
}

// ---- migration from schema 1 ---------------------------------------------------

void exec(sqlite3* db, const std::string& sql) {
  char* message = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message);
  std::string reason = message ? message : "";
  sqlite3_free(message);
  ASSERT_EQ(rc, SQLITE_OK) << reason << "\n" << sql;
}

// Builds <file> the way schema 1 did: events without origin/origin_seq, no
// peer_cursors, meta schema_version=1; `n` events with ids v1-1..v1-n.
void make_schema_1_database(const fs::path& file, int n, int64_t time_us,
                            bool half_migrated = false) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
  exec(db, R"sql(
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE events(
  seq     INTEGER PRIMARY KEY,
  id      TEXT    NOT NULL,
  topic   TEXT    NOT NULL,
  time_us INTEGER NOT NULL,
  binary  INTEGER NOT NULL,
  data    BLOB    NOT NULL,
  headers TEXT);
CREATE TABLE event_ids(
  id      TEXT PRIMARY KEY,
  seq     INTEGER NOT NULL,
  time_us INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE registry(
  kind    TEXT NOT NULL,
  id      TEXT NOT NULL,
  body    TEXT NOT NULL,
  version INTEGER NOT NULL,
  PRIMARY KEY(kind, id)) WITHOUT ROWID;
INSERT INTO meta(key, value) VALUES('schema_version', '1');
INSERT INTO registry(kind, id, body, version) VALUES('token', 't1', '{}', 1);
)sql");
  if (half_migrated)  // a crash between the migration's two ALTER TABLEs
    exec(db, "ALTER TABLE events ADD COLUMN origin TEXT");
  for (int i = 1; i <= n; ++i) {
    const auto seq = std::to_string(i);
    const auto t = std::to_string(time_us + i);
    exec(db, "INSERT INTO events(seq, id, topic, time_us, binary, data, headers) VALUES(" + seq +
               ", 'v1-" + seq + "', 'orders.old', " + t + ", 0, '{\"i\":" + seq + "}', " +
               (i == 1 ? std::string("'{\"h\":\"x\"}'") : std::string("NULL")) + ")");
    exec(db, "INSERT INTO event_ids(id, seq, time_us) VALUES('v1-" + seq + "', " + seq + ", " + t +
               ")");
  }
  exec(db, "INSERT INTO meta(key, value) VALUES('last_seq', '" + std::to_string(n) + "')");
  sqlite3_close(db);
}

std::string meta_value(const fs::path& file, const std::string& key) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  std::string out;
  if (sqlite3_prepare_v2(db, ("SELECT value FROM meta WHERE key = '" + key + "'").c_str(), -1,
                         &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW)
    out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return out;
}

TEST_F(sqlite_store_cluster_test, a_schema_1_database_is_migrated_and_keeps_its_events) {
  const int64_t t0 = now_us() - 1000;
  make_schema_1_database(db_file(), 5, t0);
  ASSERT_EQ(meta_value(db_file(), "schema_version"), "1");

  {
    auto db = open();
    EXPECT_EQ(meta_value(db_file(), "schema_version"), "2");
    auto events = all_events(*db);
    ASSERT_EQ(events.size(), 5u);
    for (std::size_t i = 0; i < events.size(); ++i) {
      const auto n = std::to_string(i + 1);
      EXPECT_EQ(events[i].seq, i + 1);
      EXPECT_EQ(events[i].id, "v1-" + n);
      EXPECT_EQ(events[i].topic, "orders.old");
      EXPECT_EQ(events[i].time_us, t0 + static_cast<int64_t>(i) + 1);
      EXPECT_EQ(events[i].data, "{\"i\":" + n + "}");
      EXPECT_EQ(events[i].origin, "");
      EXPECT_EQ(events[i].origin_seq, 0u);
    }
    EXPECT_EQ(events[0].headers, (std::map<std::string, std::string>{{"h", "x"}}));
    auto stats = db->stats();
    EXPECT_EQ(stats.first_seq, 1u);
    EXPECT_EQ(stats.last_seq, 5u);
    EXPECT_EQ(stats.events, 5u);
    // Old events are local: a link ships them.
    auto p = scan_local(*db, 0);
    EXPECT_EQ(seqs_of(p.events), (std::vector<uint64_t>{1, 2, 3, 4, 5}));
    EXPECT_TRUE(p.at_end);
    EXPECT_TRUE(db->load_peer_cursors().empty());
    // Dedup still knows the old ids; the registry is kept.
    auto dup = append(*db, {local("v1-3")});
    EXPECT_TRUE(dup.at(0).duplicate);
    EXPECT_EQ(dup.at(0).seq, 3u);
    EXPECT_EQ(db->load_records("token").size(), 1u);
    // New events, with and without an origin, continue the seqs.
    auto added = append(*db, {local("new"), remote("peer", "n2", 40)});
    EXPECT_EQ(added.at(0).seq, 6u);
    EXPECT_EQ(added.at(1).seq, 7u);
    EXPECT_EQ(db->load_peer_cursors().at("n2"), 40u);
    auto found = db->find("peer");
    ASSERT_TRUE(found);
    EXPECT_EQ(found->origin, "n2");
    EXPECT_EQ(found->origin_seq, 40u);
  }
  // Reopening the migrated database neither migrates again nor loses anything.
  auto db = open();
  EXPECT_EQ(meta_value(db_file(), "schema_version"), "2");
  EXPECT_EQ(seqs_of(all_events(*db)), (std::vector<uint64_t>{1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(db->load_peer_cursors().at("n2"), 40u);
  EXPECT_EQ(db->find("v1-1")->headers, (std::map<std::string, std::string>{{"h", "x"}}));
}

TEST_F(sqlite_store_cluster_test, an_empty_schema_1_database_is_migrated) {
  make_schema_1_database(db_file(), 0, now_us());
  auto db = open();
  EXPECT_EQ(meta_value(db_file(), "schema_version"), "2");
  EXPECT_EQ(db->stats().events, 0u);
  auto added = append(*db, {remote("a", "n2", 1)});
  EXPECT_EQ(added.at(0).seq, 1u);
  EXPECT_EQ(db->find("a")->origin, "n2");
}

TEST_F(sqlite_store_cluster_test, a_half_migrated_schema_1_database_is_completed) {
  // Each ALTER TABLE commits by itself: a crash after the first leaves events
  // with origin but without origin_seq, and schema_version still 1.
  make_schema_1_database(db_file(), 2, now_us(), /*half_migrated=*/true);
  std::unique_ptr<store> db;
  ASSERT_NO_THROW(db = open());
  EXPECT_EQ(meta_value(db_file(), "schema_version"), "2");
  EXPECT_EQ(seqs_of(all_events(*db)), (std::vector<uint64_t>{1, 2}));
  append(*db, {remote("a", "n2", 5)});
  EXPECT_EQ(db->find("a")->origin_seq, 5u);
}

} // namespace
