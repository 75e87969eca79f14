// See delivery_store.hpp: the SQLite delivery state, on its own connection to
// <data>/evmesh.db (WAL). It reads the `events` table of the same file (for
// pending rows, replays and time → seq) but never writes it. Used only from
// the store writer's thread, so its writes never race the event log's.
#include "store/delivery_store.hpp"

#include "store/detail/sqlite_statement.hpp"

#include <evmesh/topic.hpp>

#include <algorithm>
#include <stdexcept>

namespace evmesh {
namespace {

using sqlite::statement;
using sqlite::reset_on_exit;

const char* const delivery_schema_sql = R"sql(
CREATE TABLE IF NOT EXISTS delivery_cursors(
  endpoint_id      TEXT PRIMARY KEY,
  start_seq        INTEGER NOT NULL,
  cursor           INTEGER NOT NULL,
  last_success_us  INTEGER NOT NULL DEFAULT 0,
  failing_since_us INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS delivery_states(
  endpoint_id     TEXT    NOT NULL,
  seq             INTEGER NOT NULL,
  event_id        TEXT    NOT NULL,
  state           TEXT    NOT NULL,
  attempts        INTEGER NOT NULL,
  next_attempt_us INTEGER NOT NULL,
  last_status     INTEGER NOT NULL,
  last_error      TEXT    NOT NULL,
  updated_us      INTEGER NOT NULL,
  PRIMARY KEY(endpoint_id, seq)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS delivery_states_by_seq ON delivery_states(seq);
CREATE TABLE IF NOT EXISTS delivery_attempts(
  n           INTEGER PRIMARY KEY,
  endpoint_id TEXT    NOT NULL,
  event_id    TEXT    NOT NULL,
  seq         INTEGER NOT NULL,
  attempt     INTEGER NOT NULL,
  time_us     INTEGER NOT NULL,
  status      INTEGER NOT NULL,
  duration_us INTEGER NOT NULL,
  error       TEXT    NOT NULL,
  response    BLOB    NOT NULL);
CREATE INDEX IF NOT EXISTS delivery_attempts_by_endpoint ON delivery_attempts(endpoint_id, n);
CREATE INDEX IF NOT EXISTS delivery_attempts_by_seq ON delivery_attempts(seq);
)sql";

constexpr const char* row_columns =
  "endpoint_id, seq, event_id, state, attempts, next_attempt_us, last_status, last_error, updated_us";

delivery_row read_row(const statement& s, int first = 0) {
  delivery_row r;
  r.endpoint_id = s.text(first);
  r.seq = static_cast<uint64_t>(s.integer(first + 1));
  r.event_id = s.text(first + 2);
  r.state = s.text(first + 3);
  r.attempts = static_cast<uint32_t>(s.integer(first + 4));
  r.next_attempt_us = s.integer(first + 5);
  r.last_status = static_cast<int>(s.integer(first + 6));
  r.last_error = s.text(first + 7);
  r.updated_us = s.integer(first + 8);
  return r;
}

std::string sql(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (auto p : parts)
    out += p;
  return out;
}

class sqlite_delivery_store final : public delivery_store {
public:
  explicit sqlite_delivery_store(const std::filesystem::path& dir) {
    path_ = (dir / "evmesh.db").string();
    db_ = sqlite::open_database(path_);
    try {
      exec(delivery_schema_sql);
      s_ = std::make_unique<statements>(db_);
    } catch (const std::exception& e) {
      s_.reset();
      sqlite3_close(db_);
      throw std::runtime_error(path_ + " (delivery state): " + e.what());
    }
  }

  ~sqlite_delivery_store() override {
    s_.reset();
    sqlite3_close(db_);
  }

  void save(const std::vector<endpoint_progress>& progress) override {
    transaction([&] {
      for (const auto& p : progress) {
        for (const auto& [log, cursor] : p.cursors)  // one log here: ""
          s_->set_cursor.bind(1, p.endpoint_id).bind(2, static_cast<int64_t>(cursor)).run();
        if (p.last_success_us)
          s_->set_success.bind(1, p.endpoint_id).bind(2, *p.last_success_us).run();
        if (p.failing_since_us)
          s_->set_failing.bind(1, p.endpoint_id).bind(2, *p.failing_since_us).run();
        for (const auto& r : p.rows)
          s_->put_row.bind(1, r.endpoint_id).bind(2, static_cast<int64_t>(r.seq)).bind(3, r.event_id)
            .bind(4, r.state).bind(5, int64_t{r.attempts}).bind(6, r.next_attempt_us)
            .bind(7, int64_t{r.last_status}).bind(8, r.last_error).bind(9, r.updated_us).run();
        for (const auto& a : p.attempts)
          s_->add_attempt.bind(1, a.endpoint_id).bind(2, a.event_id).bind(3, static_cast<int64_t>(a.seq))
            .bind(4, int64_t{a.attempt}).bind(5, a.time_us).bind(6, int64_t{a.status}).bind(7, a.duration_us)
            .bind(8, a.error).bind_blob(9, a.response).run();
      }
    });
  }

  std::vector<endpoint_cursor> open_endpoint(const std::string& endpoint_id, uint64_t start_seq) override {
    s_->add_cursor.bind(1, endpoint_id).bind(2, static_cast<int64_t>(start_seq)).run();
    auto& s = s_->get_cursor;
    reset_on_exit guard{s};
    s.bind(1, endpoint_id);
    if (!s.step())
      throw std::runtime_error("delivery cursor for " + endpoint_id + " vanished");
    return {read_cursor(s)};
  }

  std::vector<pending_delivery> pending(const std::string& endpoint_id) override {
    auto& s = s_->pending;
    reset_on_exit guard{s};
    s.bind(1, endpoint_id);
    std::vector<pending_delivery> out;
    while (s.step()) {
      pending_delivery p;
      p.row = read_row(s);
      p.e = sqlite::read_event_at(s, 9);
      out.push_back(std::move(p));
    }
    return out;
  }

  void close_endpoint(const std::string& endpoint_id, bool forget, int64_t now) override {
    transaction([&] {
      s_->delete_cursor.bind(1, endpoint_id).run();
      if (forget) {
        s_->delete_rows.bind(1, endpoint_id).run();
        s_->delete_attempts.bind(1, endpoint_id).run();
      } else {
        s_->fail_open_rows.bind(1, endpoint_id).bind(2, now).run();
      }
    });
  }

  std::vector<attempt_record> attempts(const std::string& endpoint_id, std::size_t limit) override {
    auto& s = s_->attempts;
    reset_on_exit guard{s};
    s.bind(1, endpoint_id).bind(2, static_cast<int64_t>(limit));
    std::vector<attempt_record> out;
    while (s.step())
      out.push_back({s.text(0), s.text(1), "", static_cast<uint64_t>(s.integer(2)),
                     static_cast<uint32_t>(s.integer(3)), s.integer(4), static_cast<int>(s.integer(5)),
                     s.integer(6), s.text(7), s.text(8)});
    return out;
  }

  std::pair<std::string, uint64_t> home_of(const event& e) const override { return {"", e.seq}; }

  std::vector<delivery_row> rows_for_seq(const std::string&, uint64_t seq) override {
    auto& s = s_->rows_for_seq;
    reset_on_exit guard{s};
    s.bind(1, static_cast<int64_t>(seq));
    std::vector<delivery_row> out;
    while (s.step())
      out.push_back(read_row(s));
    return out;
  }

  std::vector<endpoint_cursor> cursors(const std::string&) override {
    auto& s = s_->all_cursors;
    reset_on_exit guard{s};
    std::vector<endpoint_cursor> out;
    while (s.step())
      out.push_back(read_cursor(s));
    return out;
  }

  std::vector<pending_delivery> queue_replay(const std::string& endpoint_id, const std::vector<std::string>& patterns,
                                             uint64_t from_seq, uint64_t to_seq, std::size_t limit,
                                             int64_t now) override {
    std::vector<pending_delivery> out;
    transaction([&] {
      auto& s = s_->events_between;
      reset_on_exit guard{s};
      s.bind(1, static_cast<int64_t>(from_seq)).bind(2, static_cast<int64_t>(to_seq));
      while (out.size() < limit && s.step()) {
        if (!matches_any(patterns, s.text(2)))
          continue;
        auto e = sqlite::read_event(s);
        out.push_back({{endpoint_id, "", e.seq, e.id, delivery_state::queued, 0, now, 0, "", now}, e});
        s_->put_row.bind(1, endpoint_id).bind(2, static_cast<int64_t>(e.seq)).bind(3, e.id)
          .bind(4, delivery_state::queued).bind(5, int64_t{0}).bind(6, now).bind(7, int64_t{0})
          .bind(8, "").bind(9, now).run();
      }
    });
    return out;
  }

  uint64_t first_seq_at_or_after(int64_t time_us) override {
    auto& s = s_->seq_at_time;
    reset_on_exit guard{s};
    s.bind(1, time_us);
    s.step();
    return static_cast<uint64_t>(s.integer(0));
  }

  uint64_t retention_floor() override {
    auto& s = s_->floor;
    reset_on_exit guard{s};
    s.step();
    return s.is_null(0) ? 0 : static_cast<uint64_t>(s.integer(0));
  }

  void prune(uint64_t first_retained_seq) override {
    transaction([&] {
      s_->prune_rows.bind(1, static_cast<int64_t>(first_retained_seq)).run();
      s_->prune_attempts.bind(1, static_cast<int64_t>(first_retained_seq)).run();
    });
  }

private:
  struct statements {
    explicit statements(sqlite3* db)
      : set_cursor(db, "UPDATE delivery_cursors SET cursor = MAX(cursor, ?2) WHERE endpoint_id = ?1"),
        set_success(db, "UPDATE delivery_cursors SET last_success_us = ?2, failing_since_us = 0 WHERE endpoint_id = ?1"),
        set_failing(db, "UPDATE delivery_cursors SET failing_since_us = ?2 WHERE endpoint_id = ?1"),
        put_row(db, sql({"INSERT OR REPLACE INTO delivery_states(", row_columns,
                         ") VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"}).c_str()),
        add_attempt(db, "INSERT INTO delivery_attempts(endpoint_id, event_id, seq, attempt, time_us, status, "
                        "duration_us, error, response) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"),
        add_cursor(db, "INSERT OR IGNORE INTO delivery_cursors(endpoint_id, start_seq, cursor) VALUES(?1, ?2, ?2)"),
        get_cursor(db, "SELECT endpoint_id, start_seq, cursor, last_success_us, failing_since_us "
                       "FROM delivery_cursors WHERE endpoint_id = ?1"),
        all_cursors(db, "SELECT endpoint_id, start_seq, cursor, last_success_us, failing_since_us "
                        "FROM delivery_cursors ORDER BY endpoint_id"),
        pending(db, sql({"SELECT d.endpoint_id, d.seq, d.event_id, d.state, d.attempts, d.next_attempt_us, "
                         "d.last_status, d.last_error, d.updated_us, e.seq, e.id, e.topic, e.time_us, e.binary, "
                         "e.data, e.headers, e.origin, e.origin_seq FROM delivery_states d JOIN events e ON e.seq = d.seq "
                         "WHERE d.endpoint_id = ?1 AND d.state IN ('retrying', 'queued') ORDER BY d.seq"}).c_str()),
        delete_cursor(db, "DELETE FROM delivery_cursors WHERE endpoint_id = ?1"),
        delete_rows(db, "DELETE FROM delivery_states WHERE endpoint_id = ?1"),
        delete_attempts(db, "DELETE FROM delivery_attempts WHERE endpoint_id = ?1"),
        fail_open_rows(db, "UPDATE delivery_states SET state = 'failed', last_error = 'endpoint disabled', "
                           "updated_us = ?2 WHERE endpoint_id = ?1 AND state IN ('retrying', 'queued')"),
        attempts(db, "SELECT endpoint_id, event_id, seq, attempt, time_us, status, duration_us, error, response "
                     "FROM delivery_attempts WHERE endpoint_id = ?1 ORDER BY n DESC LIMIT ?2"),
        rows_for_seq(db, sql({"SELECT ", row_columns, " FROM delivery_states WHERE seq = ?1"}).c_str()),
        events_between(db, sql({"SELECT ", sqlite::event_columns,
                                " FROM events WHERE seq >= ?1 AND seq <= ?2 ORDER BY seq"}).c_str()),
        seq_at_time(db, "SELECT COALESCE((SELECT MIN(seq) FROM events WHERE time_us >= ?1), "
                        "(SELECT COALESCE(MAX(seq), 0) + 1 FROM events))"),
        floor(db, "SELECT MIN(s) FROM (SELECT MIN(cursor) + 1 AS s FROM delivery_cursors UNION ALL "
                  "SELECT MIN(seq) FROM delivery_states WHERE state IN ('retrying', 'queued'))"),
        prune_rows(db, "DELETE FROM delivery_states WHERE seq < ?1"),
        prune_attempts(db, "DELETE FROM delivery_attempts WHERE seq < ?1") {}
    statement set_cursor, set_success, set_failing, put_row, add_attempt, add_cursor, get_cursor, all_cursors,
      pending, delete_cursor, delete_rows, delete_attempts, fail_open_rows, attempts, rows_for_seq,
      events_between, seq_at_time, floor, prune_rows, prune_attempts;
  };

  static endpoint_cursor read_cursor(const statement& s) {
    return {s.text(0), "", static_cast<uint64_t>(s.integer(1)), static_cast<uint64_t>(s.integer(2)), s.integer(3),
            s.integer(4)};
  }

  template <class Fn>
  void transaction(Fn fn) {
    exec("BEGIN IMMEDIATE");
    try {
      fn();
      exec("COMMIT");
    } catch (...) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  }

  void exec(const char* text) { sqlite::exec(db_, path_, text); }

  std::string path_;
  sqlite3* db_ = nullptr;
  std::unique_ptr<statements> s_;
};

} // namespace

std::unique_ptr<delivery_store> open_sqlite_delivery_store(const std::filesystem::path& dir) {
  return std::make_unique<sqlite_delivery_store>(dir);
}

} // namespace evmesh
