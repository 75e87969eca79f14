// The embedded default store: SQLite in WAL mode, one file <data>/evmesh.db.
// Durability: synchronous=FULL, so a COMMIT returns after the WAL is synced;
// append() puts a whole batch in one transaction (group commit, one sync).
// Dedup: event_ids maps every id to its seq for 24 h (and for as long as the
// event is retained, so GET /v1/events/{id} works), independent of retention.
#include "store/store.hpp"
#include "base/private_files.hpp"
#include "store/detail/sqlite_statement.hpp"
#include "store/store_rows.hpp"

#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include <stdexcept>

namespace evmesh {
namespace {

using sqlite::statement;
using sqlite::reset_on_exit;
using sqlite::event_columns;
using sqlite::read_event;

// 1: events, event_ids, registry (and the delivery store's tables).
// 2: events.origin/origin_seq, peer_cursors.
constexpr int schema_version = 2;

const char* const schema_sql = R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events(
  seq     INTEGER PRIMARY KEY,
  id      TEXT    NOT NULL,
  topic   TEXT    NOT NULL,
  time_us INTEGER NOT NULL,
  binary  INTEGER NOT NULL,
  data    BLOB    NOT NULL,
  headers TEXT,
  origin  TEXT,
  origin_seq INTEGER);
CREATE TABLE IF NOT EXISTS event_ids(
  id      TEXT PRIMARY KEY,
  seq     INTEGER NOT NULL,
  time_us INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS registry(
  kind    TEXT NOT NULL,
  id      TEXT NOT NULL,
  body    TEXT NOT NULL,
  version INTEGER NOT NULL,
  PRIMARY KEY(kind, id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS peer_cursors(
  origin TEXT PRIMARY KEY,
  seq    INTEGER NOT NULL) WITHOUT ROWID;
)sql";

// A running statement as the row source collect_scan walks.
struct statement_rows {
  statement& s;
  bool next() { return s.step(); }
  uint64_t seq() const { return static_cast<uint64_t>(s.integer(0)); }
  std::string topic() const { return s.text(2); }
  event read() const { return read_event(s); }
};

class sqlite_store final : public store {
public:
  sqlite_store(const std::filesystem::path& dir, store_access access) {
    path_ = (dir / "evmesh.db").string();
    if (access == store_access::read_write) {
      // SQLite gives -wal and -shm the database file's mode: 0600 for all.
      make_private_directory(dir);
      make_private_file(path_);
      for (const char* suffix : {"-wal", "-shm"})
        if (std::filesystem::exists(path_ + suffix))
          make_private_file(path_ + suffix);
    }
    db_ = sqlite::open_database(path_);
    try {
      if (access == store_access::read_write) {
        exec(schema_sql);
        check_schema_version();
        load_counters();
      } else {
        exec("PRAGMA query_only=1");
      }
      prepare();
    } catch (const std::exception& e) {
      statements_.reset();  // the destructor will not run: close here
      sqlite3_close(db_);
      std::string what = e.what();
      throw std::runtime_error(what.find(path_) == std::string::npos ? path_ + ": " + what : what);
    }
  }

  ~sqlite_store() override {
    statements_.reset();
    sqlite3_close(db_);
  }

  std::vector<append_outcome> append(std::vector<event>& batch) override {
    std::vector<append_outcome> outcomes;
    outcomes.reserve(batch.size());
    const uint64_t seq_before = last_seq_;
    const uint64_t bytes_before = bytes_;
    const uint64_t count_before = count_;
    const int64_t window_start = now_us() - dedup_window_us;
    std::map<std::string_view, uint64_t> peer_cursors;
    exec("BEGIN IMMEDIATE");
    try {
      auto& st = *statements_;
      for (auto& e : batch) {
        if (!e.origin.empty()) {
          auto& cursor = peer_cursors[e.origin];
          cursor = std::max(cursor, e.origin_seq);
        }
        e.seq = last_seq_ + 1;
        if (!claim_id(e, window_start)) {
          outcomes.push_back({lookup_id(e.id)->first, true});
          continue;
        }
        ++last_seq_;
        st.insert_event.bind(1, static_cast<int64_t>(e.seq))
          .bind(2, e.id)
          .bind(3, e.topic)
          .bind(4, e.time_us)
          .bind(5, int64_t{e.binary ? 1 : 0})
          .bind_blob(6, e.data);
        if (e.headers.empty())
          st.insert_event.bind_null(7);
        else
          st.insert_event.bind(7, headers_to_json(e.headers));
        if (!e.origin.empty())
          st.insert_event.bind(8, e.origin).bind(9, static_cast<int64_t>(e.origin_seq));
        st.insert_event.run();
        bytes_ += event_bytes(e);
        ++count_;
        if (first_seq_ == 0)
          first_seq_ = e.seq;
        outcomes.push_back({e.seq, false});
      }
      for (const auto& [origin, seq] : peer_cursors)
        st.advance_peer_cursor.bind(1, origin).bind(2, static_cast<int64_t>(seq)).run();
      st.put_meta.bind(1, "last_seq").bind(2, std::to_string(last_seq_)).run();
      exec("COMMIT");
    } catch (...) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      last_seq_ = seq_before;
      bytes_ = bytes_before;
      count_ = count_before;
      if (count_ == 0)
        first_seq_ = 0;
      throw;
    }
    return outcomes;
  }

  std::vector<event> scan(uint64_t after_seq, std::size_t limit,
                          const std::function<bool(std::string_view)>& keep,
                          std::size_t max_scanned, uint64_t& scanned_to) override {
    bool at_end = false;
    return scan_with(statements_->scan, after_seq, limit, keep, max_scanned, scanned_to, at_end);
  }

  std::vector<event> scan_local(uint64_t after_seq, std::size_t limit,
                                const std::function<bool(std::string_view)>& keep,
                                std::size_t max_scanned, uint64_t& scanned_to,
                                bool& at_end) override {
    return scan_with(statements_->scan_local, after_seq, limit, keep, max_scanned, scanned_to,
                     at_end);
  }

  std::map<std::string, uint64_t> load_peer_cursors() override {
    statement s(db_, "SELECT origin, seq FROM peer_cursors");
    std::map<std::string, uint64_t> out;
    while (s.step())
      out[s.text(0)] = static_cast<uint64_t>(s.integer(1));
    return out;
  }

  std::optional<event> find(std::string_view id) override {
    auto& s = statements_->find;
    reset_on_exit guard{s};
    s.bind(1, id);
    if (!s.step())
      return std::nullopt;
    return read_event(s);
  }

  store_stats stats() override { return {first_seq_, last_seq_, count_, bytes_}; }

  void ping() override {}  // embedded: nothing to reach

  uint64_t enforce_retention(const retention_policy& policy, int64_t now) override {
    uint64_t cut = 0;  // delete events with seq <= cut
    auto& st = *statements_;
    if (policy.max_age_us > 0) {
      reset_on_exit guard{st.last_seq_before};
      st.last_seq_before.bind(1, now - policy.max_age_us);
      if (st.last_seq_before.step() && !st.last_seq_before.is_null(0))
        cut = static_cast<uint64_t>(st.last_seq_before.integer(0));
    }
    if (policy.max_bytes > 0 && bytes_ > policy.max_bytes) {
      uint64_t excess = bytes_ - policy.max_bytes;
      reset_on_exit guard{st.sizes_from};
      st.sizes_from.bind(1, static_cast<int64_t>(first_seq_));
      uint64_t freed = 0;
      while (freed < excess && st.sizes_from.step()) {
        freed += static_cast<uint64_t>(st.sizes_from.integer(1));
        cut = std::max(cut, static_cast<uint64_t>(st.sizes_from.integer(0)));
      }
    }
    if (policy.keep_from_seq > 0)
      cut = std::min(cut, policy.keep_from_seq - 1);
    if (cut < first_seq_ || count_ == 0) {
      prune_ids(now);
      return 0;
    }
    exec("BEGIN IMMEDIATE");
    uint64_t deleted = 0;
    try {
      uint64_t freed = 0;
      {
        reset_on_exit guard{st.size_upto};
        st.size_upto.bind(1, static_cast<int64_t>(cut));
        if (st.size_upto.step()) {
          deleted = static_cast<uint64_t>(st.size_upto.integer(0));
          freed = static_cast<uint64_t>(st.size_upto.integer(1));
        }
      }
      st.delete_upto.bind(1, static_cast<int64_t>(cut)).run();
      prune_ids(now);
      exec("COMMIT");
      count_ -= deleted;
      bytes_ -= freed;
      first_seq_ = count_ == 0 ? 0 : cut + 1;  // seqs are consecutive; retention cuts a prefix
    } catch (...) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
    return deleted;
  }

  void put_record(const registry_record& r) override {
    statements_->put_record.bind(1, r.kind).bind(2, r.id).bind(3, r.body)
      .bind(4, static_cast<int64_t>(r.version)).run();
  }

  std::vector<registry_record> load_records(std::string_view kind) override {
    auto& s = statements_->load_records;
    reset_on_exit guard{s};
    s.bind(1, kind);
    std::vector<registry_record> out;
    while (s.step())
      out.push_back({s.text(0), s.text(1), s.text(2), static_cast<uint64_t>(s.integer(3))});
    return out;
  }

private:
  struct statements {
    explicit statements(sqlite3* db)
      : lookup_id(db, "SELECT seq, time_us FROM event_ids WHERE id = ?1"),
        claim_id(db, "INSERT INTO event_ids(id, seq, time_us) VALUES(?1, ?2, ?3) "
                     "ON CONFLICT(id) DO UPDATE SET seq = ?2, time_us = ?3 WHERE time_us < ?4"),
        insert_event(db, "INSERT INTO events(seq, id, topic, time_us, binary, data, headers, "
                         "origin, origin_seq) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"),
        advance_peer_cursor(db, "INSERT INTO peer_cursors(origin, seq) VALUES(?1, ?2) "
                                "ON CONFLICT(origin) DO UPDATE SET seq = MAX(seq, ?2)"),
        put_meta(db, "INSERT OR REPLACE INTO meta(key, value) VALUES(?1, ?2)"),
        scan(db, (std::string("SELECT ") + event_columns +
                  " FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2").c_str()),
        scan_local(db, (std::string("SELECT ") + event_columns +
                        " FROM events WHERE seq > ?1 AND origin IS NULL ORDER BY seq LIMIT ?2").c_str()),
        find(db, (std::string("SELECT e.seq, e.id, e.topic, e.time_us, e.binary, e.data, e.headers, "
                              "e.origin, e.origin_seq FROM event_ids i JOIN events e ON e.seq = i.seq WHERE i.id = ?1")).c_str()),
        last_seq_before(db, "SELECT MAX(seq) FROM events WHERE time_us < ?1"),
        sizes_from(db, "SELECT seq, length(id) + length(topic) + length(data) FROM events "
                       "WHERE seq >= ?1 ORDER BY seq"),
        size_upto(db, "SELECT COUNT(*), COALESCE(SUM(length(id) + length(topic) + length(data)), 0) "
                      "FROM events WHERE seq <= ?1"),
        delete_upto(db, "DELETE FROM events WHERE seq <= ?1"),
        prune_ids(db, "DELETE FROM event_ids WHERE time_us < ?1 AND seq < ?2"),
        put_record(db, "INSERT OR REPLACE INTO registry(kind, id, body, version) VALUES(?1, ?2, ?3, ?4)"),
        load_records(db, "SELECT kind, id, body, version FROM registry WHERE kind = ?1 ORDER BY id") {}
    statement lookup_id, claim_id, insert_event, advance_peer_cursor, put_meta, scan, scan_local, find, last_seq_before, sizes_from,
      size_upto, delete_upto, prune_ids, put_record, load_records;
  };

  void exec(const char* sql) { sqlite::exec(db_, path_, sql); }

  int64_t scalar(const char* sql) {
    statement s(db_, sql);
    return s.step() ? s.integer(0) : 0;
  }

  void check_schema_version() {
    statement get(db_, "SELECT value FROM meta WHERE key = 'schema_version'");
    if (!get.step()) {
      statement put(db_, "INSERT INTO meta(key, value) VALUES('schema_version', ?1)");
      put.bind(1, std::to_string(schema_version)).run();
      return;
    }
    int found = std::stoi(get.text(0));
    if (found > schema_version)
      throw std::runtime_error(path_ + " has schema version " + std::to_string(found) +
                               ", newer than this evmesh knows (" + std::to_string(schema_version) +
                               "); upgrade evmesh");
    if (found < 2)
      migrate_from_schema_1();
    if (found < schema_version) {
      statement put(db_, "UPDATE meta SET value = ?1 WHERE key = 'schema_version'");
      put.bind(1, std::to_string(schema_version)).run();
    }
  }

  void load_counters() {
    int64_t meta_last = 0;
    {
      statement get(db_, "SELECT value FROM meta WHERE key = 'last_seq'");
      if (get.step())
        meta_last = std::stoll(get.text(0));
    }
    last_seq_ = static_cast<uint64_t>(std::max(meta_last, scalar("SELECT COALESCE(MAX(seq), 0) FROM events")));
    first_seq_ = static_cast<uint64_t>(scalar("SELECT COALESCE(MIN(seq), 0) FROM events"));
    count_ = static_cast<uint64_t>(scalar("SELECT COUNT(*) FROM events"));
    bytes_ = static_cast<uint64_t>(
      scalar("SELECT COALESCE(SUM(length(id) + length(topic) + length(data)), 0) FROM events"));
  }

  void prepare() { statements_ = std::make_unique<statements>(db_); }

  // Runs a scan statement (?1 after seq, ?2 row limit) and keeps the rows
  // whose topic passes `keep`, up to `limit`.
  std::vector<event> scan_with(statement& s, uint64_t after_seq, std::size_t limit,
                               const std::function<bool(std::string_view)>& keep,
                               std::size_t max_scanned, uint64_t& scanned_to, bool& at_end) {
    reset_on_exit guard{s};
    s.bind(1, static_cast<int64_t>(after_seq)).bind(2, static_cast<int64_t>(max_scanned));
    statement_rows rows{s};
    return collect_scan(rows, after_seq, limit, keep, max_scanned, scanned_to, at_end);
  }

  // Databases made by schema 1 lack the cluster columns. Each ALTER TABLE
  // commits by itself, so each column is checked on its own: a crash between
  // the two leaves a database the next open completes.
  void migrate_from_schema_1() {
    add_column_if_missing("events", "origin", "TEXT");
    add_column_if_missing("events", "origin_seq", "INTEGER");
  }

  void add_column_if_missing(const std::string& table, const std::string& column,
                             const std::string& type) {
    statement columns(db_, ("SELECT COUNT(*) FROM pragma_table_info('" + table + "') WHERE name = '" +
                            column + "'").c_str());
    if (columns.step() && columns.integer(0) == 0)
      exec(("ALTER TABLE " + table + " ADD COLUMN " + column + " " + type).c_str());
  }

  // Records e.id → e.seq unless the id was stored at or after window_start
  // (a duplicate). One statement for the common case of a new id.
  bool claim_id(const event& e, int64_t window_start) {
    statements_->claim_id.bind(1, e.id).bind(2, static_cast<int64_t>(e.seq)).bind(3, e.time_us)
      .bind(4, window_start).run();
    return sqlite3_changes(db_) == 1;
  }

  // (seq, time_us) stored for an id, if any.
  std::optional<std::pair<uint64_t, int64_t>> lookup_id(std::string_view id) {
    auto& s = statements_->lookup_id;
    reset_on_exit guard{s};
    s.bind(1, id);
    if (!s.step())
      return std::nullopt;
    return std::make_pair(static_cast<uint64_t>(s.integer(0)), s.integer(1));
  }

  void prune_ids(int64_t now) {
    uint64_t keep_from = count_ == 0 ? last_seq_ + 1 : first_seq_;
    statements_->prune_ids.bind(1, now - dedup_window_us).bind(2, static_cast<int64_t>(keep_from)).run();
  }

  std::string path_;
  sqlite3* db_ = nullptr;
  std::unique_ptr<statements> statements_;
  uint64_t last_seq_ = 0;
  uint64_t first_seq_ = 0;
  uint64_t count_ = 0;
  uint64_t bytes_ = 0;
};

} // namespace

std::unique_ptr<store> open_sqlite_store(const std::filesystem::path& dir, store_access access) {
  return std::make_unique<sqlite_store>(dir, access);
}

} // namespace evmesh
