// A small RAII layer over libpq for the PostgreSQL store: one connection
// owned by one thread, its statements prepared once per session, parameters
// passed out of line (never spliced into SQL text), results in binary format.
// A lost connection is not fatal: the call that saw it throws
// store_unavailable, and the next call reconnects (re-preparing everything)
// with a bounded exponential backoff, so a restarted server is picked up by
// itself and a down server costs a caller one quick exception. A session
// found dead by a statement outside a transaction is replaced and the
// statement run again at once (each is idempotent on its own), so the first
// call after a server restart does not fail.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

struct pg_conn;
struct pg_result;

namespace evmesh::pg {

// The server cannot be reached or the session broke: retry later.
struct store_unavailable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Parameters of one statement, in order ($1, $2, ...).
class params {
public:
  params& text(std::string_view value);
  params& integer(int64_t value);
  params& boolean(bool value);
  params& bytes(std::string_view value);  // bytea, sent in binary
  params& null();

private:
  friend class connection;
  std::vector<std::string> values_;
  std::vector<int> formats_;
  std::vector<bool> nulls_;
};

// One result, binary format (the column types decide the decoding).
class result {
public:
  explicit result(pg_result* r) : r_(r, &release) {}
  int rows() const;
  bool is_null(int row, int col) const;
  int64_t integer(int row, int col) const;  // int2, int4 or int8
  bool boolean(int row, int col) const;
  std::string text(int row, int col) const;  // text or bytea, byte for byte
  uint64_t affected() const;                 // rows an INSERT/UPDATE/DELETE touched

private:
  static void release(pg_result* r);
  std::unique_ptr<pg_result, void (*)(pg_result*)> r_;
};

struct statement_text {
  const char* name;
  std::string sql;
};

class connection {
public:
  // `url` is a postgres:// URI (or libpq conninfo); `display` is how errors
  // name it (without the password). `on_session` runs after every
  // (re)connect, once the statements are prepared. Connects now; throws
  // store_unavailable when it cannot.
  connection(std::string url, std::string display, std::vector<statement_text> statements,
             std::function<void(connection&)> on_session = {});
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  // Runs a prepared statement.
  result run(const char* name, const params& p = {});
  // Runs constant SQL text (one or more commands, no parameters).
  void exec(const char* sql);
  // Runs one constant SQL command without preparing it (e.g. before the
  // tables a prepared statement names exist).
  result query(const char* sql);

  // Runs fn() between BEGIN and COMMIT; rolls back and rethrows on failure.
  template <class Fn>
  void transaction(Fn&& fn) {
    exec("BEGIN");
    in_transaction_ = true;
    try {
      fn();
      exec("COMMIT");
      in_transaction_ = false;
    } catch (...) {
      in_transaction_ = false;
      rollback();
      throw;
    }
  }

  const std::string& display() const { return display_; }

private:
  void ensure_session();
  // Runs attempt() on a live session; see postgres_connection.cpp.
  template <class Fn>
  result on_session(Fn attempt);
  void connect();
  result checked(pg_result* r, const std::string& what);
  [[noreturn]] void fail(const std::string& what, pg_result* r);
  void rollback() noexcept;

  std::string url_;
  std::string display_;
  std::vector<statement_text> statements_;
  std::function<void(connection&)> on_session_;
  pg_conn* conn_ = nullptr;
  std::string last_failure_;
  std::chrono::steady_clock::time_point next_attempt_{};
  std::chrono::milliseconds backoff_{0};
  bool in_transaction_ = false;  // a reconnect now would run the rest outside it
};

} // namespace evmesh::pg
