// What the SQLite stores on evmesh.db share (store/sqlite_store.cpp, the event
// log; store/sqlite_delivery_store.cpp, webhook delivery state): a prepared
// statement wrapper and how an `events` row becomes an event.
#pragma once

#include "store/store_rows.hpp"

#include <evmesh/event.hpp>

#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include <map>
#include <stdexcept>
#include <string>
#include <string_view>

namespace evmesh::sqlite {

// One prepared statement, reset after each use.
class statement {
public:
  statement(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr) != SQLITE_OK)
      throw std::runtime_error(std::string("sqlite prepare failed: ") + sqlite3_errmsg(db));
  }
  ~statement() { sqlite3_finalize(stmt_); }
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;

  statement& bind(int i, std::string_view text) {
    check(sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT));
    return *this;
  }
  statement& bind_blob(int i, std::string_view bytes) {
    check(sqlite3_bind_blob(stmt_, i, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT));
    return *this;
  }
  statement& bind(int i, int64_t value) {
    check(sqlite3_bind_int64(stmt_, i, value));
    return *this;
  }
  statement& bind_null(int i) {
    check(sqlite3_bind_null(stmt_, i));
    return *this;
  }
  // true while a row is available
  bool step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW)
      return true;
    if (rc == SQLITE_DONE)
      return false;
    throw std::runtime_error(std::string("sqlite step failed: ") + sqlite3_errmsg(db_));
  }
  void run() {
    step();
    reset();
  }
  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  int64_t integer(int col) const { return sqlite3_column_int64(stmt_, col); }
  std::string text(int col) const {
    auto p = sqlite3_column_blob(stmt_, col);
    auto n = sqlite3_column_bytes(stmt_, col);
    return p ? std::string(static_cast<const char*>(p), static_cast<std::size_t>(n)) : std::string{};
  }
  bool is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

private:
  void check(int rc) {
    if (rc != SQLITE_OK)
      throw std::runtime_error(std::string("sqlite bind failed: ") + sqlite3_errmsg(db_));
  }
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

// Resets a statement when the scope ends, also on exceptions.
struct reset_on_exit {
  statement& s;
  ~reset_on_exit() { s.reset(); }
};

inline constexpr const char* event_columns =
  "seq, id, topic, time_us, binary, data, headers, origin, origin_seq";

// The event in columns first..first+8 (in event_columns order).
inline event read_event_at(const statement& s, int first) {
  event e;
  e.seq = static_cast<uint64_t>(s.integer(first));
  e.id = s.text(first + 1);
  e.topic = s.text(first + 2);
  e.time_us = s.integer(first + 3);
  e.binary = s.integer(first + 4) != 0;
  e.data = s.text(first + 5);
  if (!s.is_null(first + 6))
    e.headers = headers_from_json(s.text(first + 6));
  if (!s.is_null(first + 7)) {
    e.origin = s.text(first + 7);
    e.origin_seq = static_cast<uint64_t>(s.integer(first + 8));
  }
  return e;
}

inline event read_event(const statement& s) { return read_event_at(s, 0); }

// Runs SQL text (one or more statements); throws naming `path` and SQLite's reason.
inline void exec(sqlite3* db, const std::string& path, const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    std::string reason = message ? message : sqlite3_errmsg(db);
    sqlite3_free(message);
    throw std::runtime_error(path + ": " + reason);
  }
}

// Opens (creating if needed) `path` the way every evmesh connection needs it:
// WAL, synchronous=FULL, a 5 s busy timeout. Throws naming the file.
inline sqlite3* open_database(const std::string& path) {
  sqlite3* db = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(path.c_str(), &db, flags, nullptr) != SQLITE_OK) {
    std::string reason = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    throw std::runtime_error("cannot open " + path + ": " + reason);
  }
  try {
    sqlite3_busy_timeout(db, 5000);
    exec(db, path, "PRAGMA journal_mode=WAL");
    exec(db, path, "PRAGMA synchronous=FULL");
  } catch (...) {
    sqlite3_close(db);
    throw;
  }
  return db;
}

} // namespace evmesh::sqlite
