// The SQLite schema migration the cluster needed (schema 1 → 2, node/
// sqlite_store.cpp): a schema-1 database, built by hand with the sqlite3 C
// API, is migrated and keeps its events, ids and seqs (what the cluster
// added to the store itself is in the conformance suite, tests/conformance).
#include "conformance/store_conformance.hpp"
#include "store/store.hpp"

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
using evmesh::test::local;
using evmesh::test::remote;
using evmesh::test::local_page;
using evmesh::test::seqs_of;

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

bool keep_all(std::string_view) { return true; }


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
