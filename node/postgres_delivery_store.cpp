// See delivery_store.hpp: the webhook delivery state on PostgreSQL, in the
// shared evmesh_delivery_* tables under this node's name (the queue of an
// endpoint is this node's log filtered by its patterns, as on SQLite). It
// reads this node's evmesh_events rows (pending rows, replays, time → seq)
// but never writes them. Used only from the store writer's thread.
#include "node/postgres_store.hpp"

#include "node/postgres_rows.hpp"

#include <stdexcept>

namespace evmesh {
namespace {

using pg::params;

constexpr const char* row_columns =
  "endpoint_id, seq, event_id, state, attempts, next_attempt_us, last_status, last_error, updated_us";
constexpr const char* cursor_columns = "endpoint_id, start_seq, cursor, last_success_us, failing_since_us";

std::string cat(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (auto p : parts)
    out += p;
  return out;
}

std::vector<pg::statement_text> statements() {
  return {
    {"set_cursor", "UPDATE evmesh_delivery_cursors SET cursor = GREATEST(cursor, $3) WHERE node = $1 AND endpoint_id = $2"},
    {"set_success", "UPDATE evmesh_delivery_cursors SET last_success_us = $3, failing_since_us = 0 "
                    "WHERE node = $1 AND endpoint_id = $2"},
    {"set_failing", "UPDATE evmesh_delivery_cursors SET failing_since_us = $3 WHERE node = $1 AND endpoint_id = $2"},
    {"put_row", cat({"INSERT INTO evmesh_delivery_states(node, ", row_columns,
                     ") VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (node, endpoint_id, seq) DO UPDATE SET "
                     "event_id = EXCLUDED.event_id, state = EXCLUDED.state, attempts = EXCLUDED.attempts, "
                     "next_attempt_us = EXCLUDED.next_attempt_us, last_status = EXCLUDED.last_status, "
                     "last_error = EXCLUDED.last_error, updated_us = EXCLUDED.updated_us"})},
    {"add_attempt", "INSERT INTO evmesh_delivery_attempts(node, endpoint_id, event_id, seq, attempt, time_us, status, "
                    "duration_us, error, response) VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"},
    {"add_cursor", "INSERT INTO evmesh_delivery_cursors(node, endpoint_id, start_seq, cursor) VALUES($1, $2, $3, $3) "
                   "ON CONFLICT (node, endpoint_id) DO NOTHING"},
    {"get_cursor", cat({"SELECT ", cursor_columns, " FROM evmesh_delivery_cursors WHERE node = $1 AND endpoint_id = $2"})},
    {"all_cursors", cat({"SELECT ", cursor_columns, " FROM evmesh_delivery_cursors WHERE node = $1 ORDER BY endpoint_id"})},
    {"pending", cat({"SELECT d.endpoint_id, d.seq, d.event_id, d.state, d.attempts, d.next_attempt_us, d.last_status, "
                     "d.last_error, d.updated_us, e.seq, e.id, e.topic, e.time_us, e.is_binary, e.data, e.headers, "
                     "e.origin, e.origin_seq FROM evmesh_delivery_states d JOIN evmesh_events e "
                     "ON e.node = d.node AND e.seq = d.seq WHERE d.node = $1 AND d.endpoint_id = $2 "
                     "AND d.state IN ('retrying', 'queued') ORDER BY d.seq"})},
    {"delete_cursor", "DELETE FROM evmesh_delivery_cursors WHERE node = $1 AND endpoint_id = $2"},
    {"delete_rows", "DELETE FROM evmesh_delivery_states WHERE node = $1 AND endpoint_id = $2"},
    {"delete_attempts", "DELETE FROM evmesh_delivery_attempts WHERE node = $1 AND endpoint_id = $2"},
    {"fail_open_rows", "UPDATE evmesh_delivery_states SET state = 'failed', last_error = 'endpoint disabled', "
                       "updated_us = $3 WHERE node = $1 AND endpoint_id = $2 AND state IN ('retrying', 'queued')"},
    {"attempts", "SELECT endpoint_id, event_id, seq, attempt, time_us, status, duration_us, error, response "
                 "FROM evmesh_delivery_attempts WHERE node = $1 AND endpoint_id = $2 ORDER BY n DESC LIMIT $3"},
    {"rows_for_seq", cat({"SELECT ", row_columns, " FROM evmesh_delivery_states WHERE node = $1 AND seq = $2"})},
    {"events_between", cat({"SELECT ", pg::event_columns,
                            " FROM evmesh_events WHERE node = $1 AND seq > $2 AND seq <= $3 ORDER BY seq LIMIT $4"})},
    {"seq_at_time", "SELECT COALESCE((SELECT MIN(seq) FROM evmesh_events WHERE node = $1 AND time_us >= $2), "
                    "(SELECT COALESCE(MAX(seq), 0) + 1 FROM evmesh_events WHERE node = $1))"},
    {"floor", "SELECT MIN(s) FROM (SELECT MIN(cursor) + 1 AS s FROM evmesh_delivery_cursors WHERE node = $1 UNION ALL "
              "SELECT MIN(seq) FROM evmesh_delivery_states WHERE node = $1 AND state IN ('retrying', 'queued')) f"},
    {"prune_rows", "DELETE FROM evmesh_delivery_states WHERE node = $1 AND seq < $2"},
    {"prune_attempts", "DELETE FROM evmesh_delivery_attempts WHERE node = $1 AND seq < $2"},
  };
}

delivery_row read_row(const pg::result& r, int row) {
  delivery_row d;
  d.endpoint_id = r.text(row, 0);
  d.seq = static_cast<uint64_t>(r.integer(row, 1));
  d.event_id = r.text(row, 2);
  d.state = r.text(row, 3);
  d.attempts = static_cast<uint32_t>(r.integer(row, 4));
  d.next_attempt_us = r.integer(row, 5);
  d.last_status = static_cast<int>(r.integer(row, 6));
  d.last_error = r.text(row, 7);
  d.updated_us = r.integer(row, 8);
  return d;
}

endpoint_cursor read_cursor(const pg::result& r, int row) {
  return {r.text(row, 0), static_cast<uint64_t>(r.integer(row, 1)), static_cast<uint64_t>(r.integer(row, 2)),
          r.integer(row, 3), r.integer(row, 4)};
}

params row_params(const std::string& node, const delivery_row& d) {
  params p;
  p.text(node).text(d.endpoint_id).integer(static_cast<int64_t>(d.seq)).text(d.event_id).text(d.state)
    .integer(d.attempts).integer(d.next_attempt_us).integer(d.last_status).text(d.last_error).integer(d.updated_us);
  return p;
}

class postgres_delivery_store final : public delivery_store {
public:
  explicit postgres_delivery_store(const postgres_location& where)
    : node_(where.node), db_(where.url, where.display, statements()) {}

  void save(const std::vector<endpoint_progress>& progress) override {
    db_.transaction([&] {
      for (const auto& p : progress) {
        if (p.cursor)
          db_.run("set_cursor", on(p.endpoint_id).integer(static_cast<int64_t>(*p.cursor)));
        if (p.last_success_us)
          db_.run("set_success", on(p.endpoint_id).integer(*p.last_success_us));
        if (p.failing_since_us)
          db_.run("set_failing", on(p.endpoint_id).integer(*p.failing_since_us));
        for (const auto& r : p.rows)
          db_.run("put_row", row_params(node_, r));
        for (const auto& a : p.attempts)
          db_.run("add_attempt", on(a.endpoint_id).text(a.event_id).integer(static_cast<int64_t>(a.seq))
                                   .integer(a.attempt).integer(a.time_us).integer(a.status).integer(a.duration_us)
                                   .text(a.error).bytes(a.response));
      }
    });
  }

  endpoint_cursor open_endpoint(const std::string& endpoint_id, uint64_t start_seq) override {
    db_.run("add_cursor", on(endpoint_id).integer(static_cast<int64_t>(start_seq)));
    auto r = db_.run("get_cursor", on(endpoint_id));
    if (r.rows() == 0)
      throw std::runtime_error("delivery cursor for " + endpoint_id + " vanished");
    return read_cursor(r, 0);
  }

  std::vector<pending_delivery> pending(const std::string& endpoint_id) override {
    auto r = db_.run("pending", on(endpoint_id));
    std::vector<pending_delivery> out;
    for (int i = 0; i < r.rows(); ++i)
      out.push_back({read_row(r, i), pg::read_event(r, i, 9)});
    return out;
  }

  void close_endpoint(const std::string& endpoint_id, bool forget, int64_t now) override {
    db_.transaction([&] {
      db_.run("delete_cursor", on(endpoint_id));
      if (forget) {
        db_.run("delete_rows", on(endpoint_id));
        db_.run("delete_attempts", on(endpoint_id));
      } else {
        db_.run("fail_open_rows", on(endpoint_id).integer(now));
      }
    });
  }

  std::vector<attempt_record> attempts(const std::string& endpoint_id, std::size_t limit) override {
    auto r = db_.run("attempts", on(endpoint_id).integer(static_cast<int64_t>(limit)));
    std::vector<attempt_record> out;
    for (int i = 0; i < r.rows(); ++i)
      out.push_back({r.text(i, 0), r.text(i, 1), static_cast<uint64_t>(r.integer(i, 2)),
                     static_cast<uint32_t>(r.integer(i, 3)), r.integer(i, 4), static_cast<int>(r.integer(i, 5)),
                     r.integer(i, 6), r.text(i, 7), r.text(i, 8)});
    return out;
  }

  std::vector<delivery_row> rows_for_seq(uint64_t seq) override {
    auto r = db_.run("rows_for_seq", params{}.text(node_).integer(static_cast<int64_t>(seq)));
    std::vector<delivery_row> out;
    for (int i = 0; i < r.rows(); ++i)
      out.push_back(read_row(r, i));
    return out;
  }

  std::vector<endpoint_cursor> cursors() override {
    auto r = db_.run("all_cursors", params{}.text(node_));
    std::vector<endpoint_cursor> out;
    for (int i = 0; i < r.rows(); ++i)
      out.push_back(read_cursor(r, i));
    return out;
  }

  std::vector<event> queue_replay(const std::string& endpoint_id, const std::vector<std::string>& patterns,
                                  uint64_t from_seq, uint64_t to_seq, std::size_t limit, int64_t now) override {
    std::vector<event> out;
    from_seq = std::max<uint64_t>(from_seq, 1);
    if (from_seq > to_seq)
      return out;
    db_.transaction([&] {
      pg::event_pages rows(db_, "events_between", node_, from_seq - 1, to_seq - from_seq + 1, to_seq);
      uint64_t scanned_to = 0;
      bool at_end = false;
      out = collect_scan(rows, from_seq - 1, limit, [&](std::string_view t) { return matches_any(patterns, t); },
                         to_seq - from_seq + 1, scanned_to, at_end);
      for (const auto& e : out)
        db_.run("put_row", row_params(node_, {endpoint_id, e.seq, e.id, delivery_state::queued, 0, now, 0, "", now}));
    });
    return out;
  }

  uint64_t first_seq_at_or_after(int64_t time_us) override {
    return static_cast<uint64_t>(db_.run("seq_at_time", params{}.text(node_).integer(time_us)).integer(0, 0));
  }

  uint64_t retention_floor() override {
    auto r = db_.run("floor", params{}.text(node_));
    return r.is_null(0, 0) ? 0 : static_cast<uint64_t>(r.integer(0, 0));
  }

  void prune(uint64_t first_retained_seq) override {
    db_.transaction([&] {
      db_.run("prune_rows", params{}.text(node_).integer(static_cast<int64_t>(first_retained_seq)));
      db_.run("prune_attempts", params{}.text(node_).integer(static_cast<int64_t>(first_retained_seq)));
    });
  }

private:
  // Parameters starting with (node, endpoint id).
  params on(const std::string& endpoint_id) const {
    params p;
    p.text(node_).text(endpoint_id);
    return p;
  }

  std::string node_;
  pg::connection db_;
};

} // namespace

std::unique_ptr<delivery_store> open_postgres_delivery_store(const postgres_location& where) {
  return std::make_unique<postgres_delivery_store>(where);
}

} // namespace evmesh
