// See delivery_store.hpp: the webhook delivery state on PostgreSQL, in the
// shared evmesh_delivery_* tables, where it is the cluster's: an endpoint's
// queue is every node's local events (each node's log is one of its logs,
// the node column of these tables), delivered by the node holding the
// endpoint's lease (store/postgres_leases.hpp); a save of fenced progress
// checks the lease in its transaction. It reads evmesh_events rows (pending
// rows, replays, time → seq) but never writes them. Used only from the store
// writer's thread.
#include "store/postgres_store.hpp"

#include "store/detail/postgres_rows.hpp"

#include <stdexcept>

namespace evmesh {
namespace {

using pg::params;

constexpr const char* row_columns =
  "node, endpoint_id, seq, event_id, state, attempts, next_attempt_us, last_status, last_error, updated_us";
constexpr const char* cursor_columns = "node, endpoint_id, start_seq, cursor, last_success_us, failing_since_us";
constexpr const char* attempt_columns =
  "node, endpoint_id, event_id, seq, attempt, time_us, status, duration_us, error, response";

std::string cat(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (auto p : parts)
    out += p;
  return out;
}

// The node column of the delivery tables names the log a seq is in; the
// endpoint's state spans every log, so most statements key on endpoint_id.
std::vector<pg::statement_text> statements() {
  return {
    {"holds_lease", "SELECT 1 FROM evmesh_endpoint_leases WHERE endpoint_id = $1 AND holder = $2 AND fence = $3 "
                    "FOR SHARE"},
    // A log without a cursor so far is read from its start (its node began
    // after the endpoint): its cursor starts at 0.
    {"set_cursor", "INSERT INTO evmesh_delivery_cursors(node, endpoint_id, start_seq, cursor) VALUES($1, $2, 0, $3) "
                   "ON CONFLICT (node, endpoint_id) DO UPDATE SET cursor = GREATEST(evmesh_delivery_cursors.cursor, "
                   "EXCLUDED.cursor)"},
    {"set_success", "UPDATE evmesh_delivery_cursors SET last_success_us = $2, failing_since_us = 0 "
                    "WHERE endpoint_id = $1"},
    {"set_failing", "UPDATE evmesh_delivery_cursors SET failing_since_us = $2 WHERE endpoint_id = $1"},
    {"put_row", cat({"INSERT INTO evmesh_delivery_states(", row_columns,
                     ") VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (node, endpoint_id, seq) DO UPDATE SET "
                     "event_id = EXCLUDED.event_id, state = EXCLUDED.state, attempts = EXCLUDED.attempts, "
                     "next_attempt_us = EXCLUDED.next_attempt_us, last_status = EXCLUDED.last_status, "
                     "last_error = EXCLUDED.last_error, updated_us = EXCLUDED.updated_us"})},
    {"add_attempt", cat({"INSERT INTO evmesh_delivery_attempts(", attempt_columns,
                         ") VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"})},
    // A new (or enabled again) endpoint starts at the end of every log: $3
    // for this node's ($2; its log may have no row yet), the last committed
    // seq for the others.
    {"add_cursors", "INSERT INTO evmesh_delivery_cursors(node, endpoint_id, start_seq, cursor) "
                    "SELECT l.node, $1, l.last_seq, l.last_seq FROM (SELECT node, last_seq FROM evmesh_logs "
                    "WHERE node <> $2 UNION ALL SELECT $2, $3::bigint) l WHERE NOT EXISTS "
                    "(SELECT 1 FROM evmesh_delivery_cursors WHERE endpoint_id = $1) ON CONFLICT DO NOTHING"},
    {"endpoint_cursors", cat({"SELECT ", cursor_columns, " FROM evmesh_delivery_cursors WHERE endpoint_id = $1 "
                              "ORDER BY node"})},
    {"log_cursors", cat({"SELECT ", cursor_columns, " FROM evmesh_delivery_cursors WHERE node = $1 ORDER BY endpoint_id"})},
    {"pending", cat({"SELECT d.node, d.endpoint_id, d.seq, d.event_id, d.state, d.attempts, d.next_attempt_us, "
                     "d.last_status, d.last_error, d.updated_us, e.seq, e.id, e.topic, e.time_us, e.is_binary, e.data, "
                     "e.headers, e.origin, e.origin_seq FROM evmesh_delivery_states d JOIN evmesh_events e "
                     "ON e.node = d.node AND e.seq = d.seq WHERE d.endpoint_id = $1 "
                     "AND d.state IN ('retrying', 'queued') ORDER BY d.node, d.seq"})},
    {"delete_cursors", "DELETE FROM evmesh_delivery_cursors WHERE endpoint_id = $1"},
    {"delete_rows", "DELETE FROM evmesh_delivery_states WHERE endpoint_id = $1"},
    {"delete_attempts", "DELETE FROM evmesh_delivery_attempts WHERE endpoint_id = $1"},
    {"fail_open_rows", "UPDATE evmesh_delivery_states SET state = 'failed', last_error = 'endpoint disabled', "
                       "updated_us = $2 WHERE endpoint_id = $1 AND state IN ('retrying', 'queued')"},
    {"attempts", cat({"SELECT ", attempt_columns, " FROM evmesh_delivery_attempts WHERE endpoint_id = $1 "
                      "ORDER BY n DESC LIMIT $2"})},
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
  d.log = r.text(row, 0);
  d.endpoint_id = r.text(row, 1);
  d.seq = static_cast<uint64_t>(r.integer(row, 2));
  d.event_id = r.text(row, 3);
  d.state = r.text(row, 4);
  d.attempts = static_cast<uint32_t>(r.integer(row, 5));
  d.next_attempt_us = r.integer(row, 6);
  d.last_status = static_cast<int>(r.integer(row, 7));
  d.last_error = r.text(row, 8);
  d.updated_us = r.integer(row, 9);
  return d;
}

std::vector<endpoint_cursor> read_cursors(const pg::result& r) {
  std::vector<endpoint_cursor> out;
  for (int i = 0; i < r.rows(); ++i)
    out.push_back({r.text(i, 1), r.text(i, 0), static_cast<uint64_t>(r.integer(i, 2)),
                   static_cast<uint64_t>(r.integer(i, 3)), r.integer(i, 4), r.integer(i, 5)});
  return out;
}

class postgres_delivery_store final : public delivery_store {
public:
  explicit postgres_delivery_store(const postgres_location& where)
    : node_(where.node), db_(where.url, where.display, statements()) {}

  void save(const std::vector<endpoint_progress>& progress) override {
    db_.transaction([&] {
      for (const auto& p : progress) {
        if (p.fence != 0 && db_.run("holds_lease", params{}.text(p.endpoint_id).text(node_)
                                                     .integer(static_cast<int64_t>(p.fence))).rows() == 0)
          continue;  // the lease moved on: its new holder owns this state now
        for (const auto& [log, cursor] : p.cursors)
          db_.run("set_cursor", params{}.text(log_name(log)).text(p.endpoint_id).integer(static_cast<int64_t>(cursor)));
        if (p.last_success_us)
          db_.run("set_success", params{}.text(p.endpoint_id).integer(*p.last_success_us));
        if (p.failing_since_us)
          db_.run("set_failing", params{}.text(p.endpoint_id).integer(*p.failing_since_us));
        for (const auto& r : p.rows)
          put_row(r);
        for (const auto& a : p.attempts)
          db_.run("add_attempt", params{}.text(log_name(a.log)).text(a.endpoint_id).text(a.event_id)
                                   .integer(static_cast<int64_t>(a.seq)).integer(a.attempt).integer(a.time_us)
                                   .integer(a.status).integer(a.duration_us).text(a.error).bytes(a.response));
      }
    });
  }

  std::vector<endpoint_cursor> open_endpoint(const std::string& endpoint_id, uint64_t start_seq) override {
    db_.run("add_cursors", params{}.text(endpoint_id).text(node_).integer(static_cast<int64_t>(start_seq)));
    return read_cursors(db_.run("endpoint_cursors", params{}.text(endpoint_id)));
  }

  std::vector<pending_delivery> pending(const std::string& endpoint_id) override {
    auto r = db_.run("pending", params{}.text(endpoint_id));
    std::vector<pending_delivery> out;
    for (int i = 0; i < r.rows(); ++i)
      out.push_back({read_row(r, i), pg::read_event(r, i, 10)});
    return out;
  }

  void close_endpoint(const std::string& endpoint_id, bool forget, int64_t now) override {
    db_.transaction([&] {
      db_.run("delete_cursors", params{}.text(endpoint_id));
      if (forget) {
        db_.run("delete_rows", params{}.text(endpoint_id));
        db_.run("delete_attempts", params{}.text(endpoint_id));
      } else {
        db_.run("fail_open_rows", params{}.text(endpoint_id).integer(now));
      }
    });
  }

  std::vector<attempt_record> attempts(const std::string& endpoint_id, std::size_t limit) override {
    auto r = db_.run("attempts", params{}.text(endpoint_id).integer(static_cast<int64_t>(limit)));
    std::vector<attempt_record> out;
    for (int i = 0; i < r.rows(); ++i)
      out.push_back({r.text(i, 1), r.text(i, 2), r.text(i, 0), static_cast<uint64_t>(r.integer(i, 3)),
                     static_cast<uint32_t>(r.integer(i, 4)), r.integer(i, 5), static_cast<int>(r.integer(i, 6)),
                     r.integer(i, 7), r.text(i, 8), r.text(i, 9)});
    return out;
  }

  std::pair<std::string, uint64_t> home_of(const event& e) const override {
    return e.origin.empty() ? std::pair{node_, e.seq} : std::pair{e.origin, e.origin_seq};
  }

  std::vector<delivery_row> rows_for_seq(const std::string& log, uint64_t seq) override {
    auto r = db_.run("rows_for_seq", params{}.text(log_name(log)).integer(static_cast<int64_t>(seq)));
    std::vector<delivery_row> out;
    for (int i = 0; i < r.rows(); ++i)
      out.push_back(read_row(r, i));
    return out;
  }

  std::vector<endpoint_cursor> cursors(const std::string& log) override {
    return read_cursors(db_.run("log_cursors", params{}.text(log_name(log))));
  }

  // Replays from this node's log; each row is keyed by the log the event
  // belongs to (its origin's, for an event received from a peer), which is
  // where the endpoint's holder reads it.
  std::vector<pending_delivery> queue_replay(const std::string& endpoint_id, const std::vector<std::string>& patterns,
                                             uint64_t from_seq, uint64_t to_seq, std::size_t limit,
                                             int64_t now) override {
    std::vector<pending_delivery> out;
    from_seq = std::max<uint64_t>(from_seq, 1);
    if (from_seq > to_seq)
      return out;
    db_.transaction([&] {
      pg::event_pages rows(db_, "events_between", node_, from_seq - 1, to_seq - from_seq + 1, to_seq);
      uint64_t scanned_to = 0;
      bool at_end = false;
      auto events = collect_scan(rows, from_seq - 1, limit,
                                 [&](std::string_view t) { return matches_any(patterns, t); },
                                 to_seq - from_seq + 1, scanned_to, at_end);
      for (auto& e : events) {
        auto [log, seq] = home_of(e);
        delivery_row row{endpoint_id, log, seq, e.id, delivery_state::queued, 0, now, 0, "", now};
        put_row(row);
        out.push_back({std::move(row), std::move(e)});
      }
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
  // "" (the caller's own log) is this node's.
  const std::string& log_name(const std::string& log) const { return log.empty() ? node_ : log; }

  void put_row(const delivery_row& d) {
    db_.run("put_row", params{}.text(log_name(d.log)).text(d.endpoint_id).integer(static_cast<int64_t>(d.seq))
                         .text(d.event_id).text(d.state).integer(d.attempts).integer(d.next_attempt_us)
                         .integer(d.last_status).text(d.last_error).integer(d.updated_us));
  }

  std::string node_;
  pg::connection db_;
};

} // namespace

std::unique_ptr<delivery_store> open_postgres_delivery_store(const postgres_location& where) {
  return std::make_unique<postgres_delivery_store>(where);
}

} // namespace evmesh
