// See postgres_connection.hpp.
#include "store/detail/postgres_connection.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <cstring>

namespace evmesh::pg {
namespace {

constexpr std::chrono::milliseconds first_backoff{100};
constexpr std::chrono::milliseconds max_backoff{5000};

std::string trimmed(const char* message) {
  std::string out = message ? message : "";
  while (!out.empty() && (out.back() == '\n' || out.back() == ' '))
    out.pop_back();
  return out;
}

uint64_t big_endian(const char* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i)
    v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

// The start of an SQL text, for error messages.
std::string quoted(const char* sql) {
  std::string text = sql;
  auto start = text.find_first_not_of(" \n");
  return "running \"" + text.substr(start == std::string::npos ? 0 : start, 40) + "\"";
}

} // namespace

params& params::text(std::string_view value) {
  values_.emplace_back(value);
  formats_.push_back(0);
  nulls_.push_back(false);
  return *this;
}

params& params::integer(int64_t value) { return text(std::to_string(value)); }

params& params::boolean(bool value) { return text(value ? "t" : "f"); }

params& params::bytes(std::string_view value) {
  values_.emplace_back(value);
  formats_.push_back(1);
  nulls_.push_back(false);
  return *this;
}

params& params::null() {
  values_.emplace_back();
  formats_.push_back(0);
  nulls_.push_back(true);
  return *this;
}

void result::release(pg_result* r) { PQclear(r); }

int result::rows() const { return PQntuples(r_.get()); }

bool result::is_null(int row, int col) const { return PQgetisnull(r_.get(), row, col) != 0; }

int64_t result::integer(int row, int col) const {
  int n = PQgetlength(r_.get(), row, col);
  auto v = big_endian(PQgetvalue(r_.get(), row, col), n);
  switch (n) {
  case 2: return static_cast<int16_t>(v);
  case 4: return static_cast<int32_t>(v);
  case 8: return static_cast<int64_t>(v);
  default: throw std::runtime_error("postgres: column " + std::to_string(col) + " is not an integer");
  }
}

bool result::boolean(int row, int col) const { return PQgetvalue(r_.get(), row, col)[0] != 0; }

std::string result::text(int row, int col) const {
  return std::string(PQgetvalue(r_.get(), row, col), static_cast<std::size_t>(PQgetlength(r_.get(), row, col)));
}

uint64_t result::affected() const {
  const char* n = PQcmdTuples(r_.get());
  return n && *n ? std::stoull(n) : 0;
}

connection::connection(std::string url, std::string display, std::vector<statement_text> statements,
                       std::function<void(connection&)> on_session)
  : url_(std::move(url)), display_(std::move(display)), statements_(std::move(statements)),
    on_session_(std::move(on_session)) {
  connect();
}

connection::~connection() {
  if (conn_)
    PQfinish(conn_);
}

void connection::connect() {
  // Our defaults first: what the URL says wins (expand_dbname, later wins).
  const char* keys[] = {"connect_timeout", "application_name", "keepalives_idle", "keepalives_interval",
                        "keepalives_count", "tcp_user_timeout", "dbname", nullptr};
  const char* values[] = {"5", "evmesh", "10", "5", "3", "15000", url_.c_str(), nullptr};
  conn_ = PQconnectdbParams(keys, values, 1);
  try {
    if (!conn_ || PQstatus(conn_) != CONNECTION_OK)
      throw store_unavailable("cannot connect to PostgreSQL at " + display_ + ": " +
                              (conn_ ? trimmed(PQerrorMessage(conn_)) : "out of memory"));
    for (const auto& s : statements_) {
      pg_result* r = PQprepare(conn_, s.name, s.sql.c_str(), 0, nullptr);
      if (PQresultStatus(r) != PGRES_COMMAND_OK)
        fail(std::string("preparing ") + s.name, r);
      PQclear(r);
    }
    if (on_session_)
      on_session_(*this);
  } catch (...) {
    if (conn_)
      PQfinish(conn_);
    conn_ = nullptr;
    throw;
  }
  backoff_ = std::chrono::milliseconds{0};
  last_failure_.clear();
}

void connection::ensure_session() {
  if (conn_ && PQstatus(conn_) == CONNECTION_OK)
    return;
  if (conn_) {
    PQfinish(conn_);
    conn_ = nullptr;
  }
  if (in_transaction_)
    throw store_unavailable("PostgreSQL at " + display_ + ": connection lost inside a transaction");
  auto now = std::chrono::steady_clock::now();
  if (now < next_attempt_)
    throw store_unavailable(last_failure_ + " (reconnecting)");
  try {
    connect();
  } catch (const std::exception& e) {
    last_failure_ = e.what();
    backoff_ = std::clamp(backoff_ * 2, first_backoff, max_backoff);
    next_attempt_ = std::chrono::steady_clock::now() + backoff_;
    throw;
  }
}

void connection::fail(const std::string& what, pg_result* r) {
  std::string reason = r ? trimmed(PQresultErrorMessage(r)) : "";
  if (reason.empty())
    reason = trimmed(PQerrorMessage(conn_));
  PQclear(r);
  if (PQstatus(conn_) != CONNECTION_OK) {
    PQfinish(conn_);
    conn_ = nullptr;
    last_failure_ = "PostgreSQL at " + display_ + ": connection lost: " + reason;
    throw store_unavailable(last_failure_);
  }
  throw std::runtime_error("PostgreSQL at " + display_ + ": " + what + ": " + reason);
}

result connection::checked(pg_result* r, const std::string& what) {
  auto status = PQresultStatus(r);
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK)
    fail(what, r);
  return result{r};
}

template <class Fn>
result connection::on_session(Fn attempt) {
  bool had_session = conn_ != nullptr;
  try {
    ensure_session();
    return attempt();
  } catch (const store_unavailable&) {
    // A session that looked alive was dead (the server restarted since the
    // last call): one fresh session right away, unless inside a transaction.
    if (!had_session || in_transaction_ || conn_)
      throw;
    ensure_session();
    return attempt();
  }
}

result connection::run(const char* name, const params& p) {
  std::vector<const char*> values;
  std::vector<int> lengths;
  for (std::size_t i = 0; i < p.values_.size(); ++i) {
    values.push_back(p.nulls_[i] ? nullptr : p.values_[i].data());
    lengths.push_back(static_cast<int>(p.values_[i].size()));
  }
  return on_session([&] {
    return checked(PQexecPrepared(conn_, name, static_cast<int>(values.size()), values.data(), lengths.data(),
                                  p.formats_.data(), 1),
                   name);
  });
}

void connection::exec(const char* sql) {
  on_session([&] { return checked(PQexec(conn_, sql), quoted(sql)); });
}

result connection::query(const char* sql) {
  return on_session([&] {
    return checked(PQexecParams(conn_, sql, 0, nullptr, nullptr, nullptr, nullptr, 1), quoted(sql));
  });
}

void connection::rollback() noexcept {
  if (conn_ && PQstatus(conn_) == CONNECTION_OK)
    PQclear(PQexec(conn_, "ROLLBACK"));
}

} // namespace evmesh::pg
