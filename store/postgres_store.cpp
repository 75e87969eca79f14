// The event log and registry on PostgreSQL (docs/STORAGE.md). Each node's
// log lives in the shared evmesh_events table under its own name, so seqs,
// scans, peer cursors and retention mean what they mean on SQLite; the
// registry table is shared by every node of the cluster. append() is one
// transaction per batch (group commit) and one round trip per event: the
// id claim and the insert are a single statement. A store object owns one
// connection and is used from one thread (the writer or the reader actor).
#include "store/postgres_store.hpp"

#include "store/detail/log_counters.hpp"
#include "store/detail/postgres_rows.hpp"
#include "store/detail/postgres_schema.hpp"

#include <stdexcept>

namespace evmesh {
namespace {

using pg::params;

std::string select_events(const char* where) {
  return std::string("SELECT ") + pg::event_columns + " FROM evmesh_events WHERE node = $1 AND " + where;
}

std::vector<pg::statement_text> statements() {
  return {
    // $1 node, $2 id, $3 seq, $4 time, $5 window start, then the event.
    {"append_event",
     "WITH claimed AS (INSERT INTO evmesh_event_ids(node, id, seq, time_us) VALUES($1, $2, $3, $4) "
     "ON CONFLICT (node, id) DO UPDATE SET seq = EXCLUDED.seq, time_us = EXCLUDED.time_us "
     "WHERE evmesh_event_ids.time_us < $5 RETURNING seq) "
     "INSERT INTO evmesh_events(node, seq, id, topic, time_us, is_binary, data, headers, origin, origin_seq) "
     "SELECT $1, $3, $2, $6::text, $4, $7::boolean, $8::bytea, $9::text, $10::text, $11::bigint FROM claimed"},
    {"ping", "SELECT 1"},
    {"lookup_id", "SELECT seq FROM evmesh_event_ids WHERE node = $1 AND id = $2"},
    {"advance_peer_cursor",
     "INSERT INTO evmesh_peer_cursors(node, origin, seq) VALUES($1, $2, $3) ON CONFLICT (node, origin) "
     "DO UPDATE SET seq = GREATEST(evmesh_peer_cursors.seq, EXCLUDED.seq)"},
    {"set_last_seq",
     "INSERT INTO evmesh_logs(node, last_seq) VALUES($1, $2) ON CONFLICT (node) DO UPDATE SET last_seq = EXCLUDED.last_seq"},
    {"peer_cursors", "SELECT origin, seq FROM evmesh_peer_cursors WHERE node = $1"},
    {"logs", "SELECT node FROM evmesh_logs ORDER BY node"},
    {"scan", select_events("seq > $2 ORDER BY seq LIMIT $3")},
    {"scan_local", select_events("seq > $2 AND origin IS NULL ORDER BY seq LIMIT $3")},
    {"find", std::string("SELECT ") + pg::event_columns + " FROM evmesh_events WHERE node = $1 AND seq = "
             "(SELECT seq FROM evmesh_event_ids WHERE node = $1 AND id = $2)"},
    {"counters",
     "SELECT GREATEST(COALESCE((SELECT last_seq FROM evmesh_logs WHERE node = $1), 0), COALESCE(MAX(seq), 0)), "
     "COALESCE(MIN(seq), 0), COUNT(*), "
     "COALESCE(SUM(octet_length(id) + octet_length(topic) + octet_length(data)), 0)::bigint "
     "FROM evmesh_events WHERE node = $1"},
    {"last_seq_before", "SELECT MAX(seq) FROM evmesh_events WHERE node = $1 AND time_us < $2"},
    {"seq_freeing",
     "SELECT seq FROM (SELECT seq, SUM(octet_length(id) + octet_length(topic) + octet_length(data)) "
     "OVER (ORDER BY seq) AS running FROM evmesh_events WHERE node = $1) s WHERE running >= $2 ORDER BY seq LIMIT 1"},
    {"size_upto",
     "SELECT COUNT(*), COALESCE(SUM(octet_length(id) + octet_length(topic) + octet_length(data)), 0)::bigint "
     "FROM evmesh_events WHERE node = $1 AND seq <= $2"},
    {"delete_upto", "DELETE FROM evmesh_events WHERE node = $1 AND seq <= $2"},
    {"prune_ids", "DELETE FROM evmesh_event_ids WHERE node = $1 AND time_us < $2 AND seq < $3"},
    {"put_record",
     "INSERT INTO evmesh_registry(kind, id, body, version) VALUES($1, $2, $3, $4) ON CONFLICT (kind, id) "
     "DO UPDATE SET body = EXCLUDED.body, version = EXCLUDED.version"},
    {"load_records", "SELECT kind, id, body, version FROM evmesh_registry WHERE kind = $1 ORDER BY id"},
  };
}

std::optional<uint64_t> first_value(const pg::result& r) {
  if (r.rows() == 0 || r.is_null(0, 0))
    return std::nullopt;
  return static_cast<uint64_t>(r.integer(0, 0));
}

class postgres_store final : public store {
public:
  postgres_store(const postgres_location& where, store_access access) : node_(where.node) {
    if (access == store_access::read_write) {
      pg::connection setup(where.url, where.display, {});
      pg::ensure_schema(setup);
    }
    db_ = std::make_unique<pg::connection>(where.url, where.display, statements(), [this, access](pg::connection& db) {
      if (access == store_access::read_only)
        db.exec("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY");
      else
        load_counters(db);  // a commit whose answer was lost may have landed
    });
  }

  std::vector<append_outcome> append(std::vector<event>& batch) override {
    if (counters_stale_) {
      load_counters(*db_);
      counters_stale_ = false;
    }
    std::vector<append_outcome> outcomes;
    outcomes.reserve(batch.size());
    const auto before = counters_;
    const int64_t window_start = now_us() - dedup_window_us;
    std::map<std::string_view, uint64_t> peer_cursors;
    try {
      db_->transaction([&] {
        for (auto& e : batch) {
          if (!e.origin.empty()) {
            auto& cursor = peer_cursors[e.origin];
            cursor = std::max(cursor, e.origin_seq);
          }
          e.seq = counters_.last_seq + 1;
          params p;
          p.text(node_).text(e.id).integer(static_cast<int64_t>(e.seq)).integer(e.time_us).integer(window_start)
            .text(e.topic).boolean(e.binary).bytes(e.data);
          if (e.headers.empty())
            p.null();
          else
            p.text(headers_to_json(e.headers));
          if (e.origin.empty())
            p.null().null();
          else
            p.text(e.origin).integer(static_cast<int64_t>(e.origin_seq));
          if (db_->run("append_event", p).affected() == 0) {
            auto stored = first_value(db_->run("lookup_id", params{}.text(node_).text(e.id)));
            outcomes.push_back({stored.value_or(0), true});
            continue;
          }
          ++counters_.last_seq;
          counters_.added(e);
          outcomes.push_back({e.seq, false});
        }
        for (const auto& [origin, seq] : peer_cursors)
          db_->run("advance_peer_cursor", params{}.text(node_).text(origin).integer(static_cast<int64_t>(seq)));
        db_->run("set_last_seq", params{}.text(node_).integer(static_cast<int64_t>(counters_.last_seq)));
      });
    } catch (...) {
      // Usually nothing landed; but a COMMIT whose answer was lost may
      // have: the next append reads the counters back from the database.
      counters_ = before;
      counters_stale_ = true;
      throw;
    }
    return outcomes;
  }

  std::vector<event> scan(uint64_t after_seq, std::size_t limit, const std::function<bool(std::string_view)>& keep,
                          std::size_t max_scanned, uint64_t& scanned_to) override {
    bool at_end = false;
    pg::event_pages rows(*db_, "scan", node_, after_seq, max_scanned);
    return collect_scan(rows, after_seq, limit, keep, max_scanned, scanned_to, at_end);
  }

  std::vector<event> scan_local(uint64_t after_seq, std::size_t limit,
                                const std::function<bool(std::string_view)>& keep, std::size_t max_scanned,
                                uint64_t& scanned_to, bool& at_end) override {
    pg::event_pages rows(*db_, "scan_local", node_, after_seq, max_scanned);
    return collect_scan(rows, after_seq, limit, keep, max_scanned, scanned_to, at_end);
  }

  std::vector<std::string> logs() override {
    auto r = db_->run("logs");
    std::vector<std::string> out;
    for (int i = 0; i < r.rows(); ++i)
      out.push_back(r.text(i, 0));
    return out;
  }

  std::vector<event> scan_log(const std::string& log, uint64_t after_seq, std::size_t limit,
                              const std::function<bool(std::string_view)>& keep, std::size_t max_scanned,
                              uint64_t& scanned_to) override {
    bool at_end = false;
    pg::event_pages rows(*db_, "scan_local", log, after_seq, max_scanned);
    return collect_scan(rows, after_seq, limit, keep, max_scanned, scanned_to, at_end);
  }

  std::map<std::string, uint64_t> load_peer_cursors() override {
    auto r = db_->run("peer_cursors", params{}.text(node_));
    std::map<std::string, uint64_t> out;
    for (int i = 0; i < r.rows(); ++i)
      out[r.text(i, 0)] = static_cast<uint64_t>(r.integer(i, 1));
    return out;
  }

  std::optional<event> find(std::string_view id) override {
    auto r = db_->run("find", params{}.text(node_).text(id));
    if (r.rows() == 0)
      return std::nullopt;
    return pg::read_event(r, 0);
  }

  store_stats stats() override { return counters_.stats(); }

  void ping() override { db_->run("ping"); }

  uint64_t enforce_retention(const retention_policy& policy, int64_t now) override {
    auto cut = counters_.retention_cut(
      policy, now,
      [&](int64_t before) { return first_value(db_->run("last_seq_before", params{}.text(node_).integer(before))); },
      [&](uint64_t bytes) {
        return first_value(db_->run("seq_freeing", params{}.text(node_).integer(static_cast<int64_t>(bytes))));
      });
    if (cut < counters_.first_seq || counters_.count == 0) {
      prune_ids(now);
      return 0;
    }
    uint64_t deleted = 0, freed = 0;
    db_->transaction([&] {
      auto size = db_->run("size_upto", params{}.text(node_).integer(static_cast<int64_t>(cut)));
      deleted = static_cast<uint64_t>(size.integer(0, 0));
      freed = static_cast<uint64_t>(size.integer(0, 1));
      db_->run("delete_upto", params{}.text(node_).integer(static_cast<int64_t>(cut)));
      auto after = counters_;
      after.cut(cut, deleted, freed);
      prune_ids(now, after.keep_ids_from());
    });
    counters_.cut(cut, deleted, freed);
    return deleted;
  }

  void put_record(const registry_record& r) override {
    db_->run("put_record", params{}.text(r.kind).text(r.id).text(r.body).integer(static_cast<int64_t>(r.version)));
  }

  std::vector<registry_record> load_records(std::string_view kind) override {
    auto r = db_->run("load_records", params{}.text(kind));
    std::vector<registry_record> out;
    for (int i = 0; i < r.rows(); ++i)
      out.push_back({r.text(i, 0), r.text(i, 1), r.text(i, 2), static_cast<uint64_t>(r.integer(i, 3))});
    return out;
  }

private:
  void load_counters(pg::connection& db) {
    auto r = db.run("counters", params{}.text(node_));
    counters_.last_seq = static_cast<uint64_t>(r.integer(0, 0));
    counters_.first_seq = static_cast<uint64_t>(r.integer(0, 1));
    counters_.count = static_cast<uint64_t>(r.integer(0, 2));
    counters_.bytes = static_cast<uint64_t>(r.integer(0, 3));
  }

  void prune_ids(int64_t now, std::optional<uint64_t> keep_from = std::nullopt) {
    db_->run("prune_ids", params{}.text(node_).integer(now - dedup_window_us)
                            .integer(static_cast<int64_t>(keep_from.value_or(counters_.keep_ids_from()))));
  }

  std::string node_;
  log_counters counters_;
  bool counters_stale_ = false;  // an append failed: the database may be ahead
  std::unique_ptr<pg::connection> db_;
};

} // namespace

std::unique_ptr<store> open_postgres_store(const postgres_location& where, store_access access) {
  return std::make_unique<postgres_store>(where, access);
}

} // namespace evmesh
