// Webhook delivery state, beside the event log. An endpoint's queue is one
// or more logs filtered by the endpoint's patterns:
//   - on SQLite (store/sqlite_delivery_store.cpp) one log: this node's, every
//     event stored here (local and received from peers), named "";
//   - on PostgreSQL (store/postgres_delivery_store.cpp, the shared store) one
//     log per node of the cluster, named by the node: that node's local
//     events, so whichever node holds the endpoint's lease reads them all.
// Per endpoint and log:
//   - cursors: `cursor` — every matching event with seq <= cursor is
//     finished or has a delivery_states row — and `start_seq` (the log's end
//     when the endpoint was created: older events are not its business
//     unless replayed), plus the endpoint's health (last success, failing
//     since);
//   - delivery_states: one row per (endpoint, event) that needed more than
//     one clean attempt: waiting for a retry, queued by a replay, failed for
//     good, or delivered after retries;
//   - delivery_attempts: the attempt log.
// Only the store writer actor uses a writable delivery_store (one thread).
#pragma once

#include <evmesh/event.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace evmesh {

// delivery_states.state values.
namespace delivery_state {
constexpr const char* retrying = "retrying";    // failed, next attempt at next_attempt_us
constexpr const char* queued = "queued";        // put back by a replay, not attempted yet
constexpr const char* failed = "failed";        // retries exhausted or endpoint disabled
constexpr const char* delivered = "delivered";  // a 2xx after more than one attempt (or a replay)
} // namespace delivery_state

struct delivery_row {
  std::string endpoint_id;
  std::string log;  // whose log `seq` is in ("": this node's, on SQLite)
  uint64_t seq = 0;
  std::string event_id;
  std::string state;
  uint32_t attempts = 0;
  int64_t next_attempt_us = 0;
  int last_status = 0;
  std::string last_error;
  int64_t updated_us = 0;
};

struct attempt_record {
  std::string endpoint_id;
  std::string event_id;
  std::string log;
  uint64_t seq = 0;
  uint32_t attempt = 0;  // 1 for the first
  int64_t time_us = 0;
  int status = 0;        // 0: no HTTP answer
  int64_t duration_us = 0;
  std::string error;
  std::string response;  // first 4 KiB of the body
};

struct endpoint_cursor {
  std::string endpoint_id;
  std::string log;
  uint64_t start_seq = 0;
  uint64_t cursor = 0;
  int64_t last_success_us = 0;
  int64_t failing_since_us = 0;  // 0: not failing
};

// What one delivery actor made durable since its last report.
struct endpoint_progress {
  std::string endpoint_id;
  // The endpoint's lease (shared store): the progress is saved only while
  // this node still holds it with this fence. 0: no lease (SQLite).
  uint64_t fence = 0;
  std::map<std::string, uint64_t> cursors;  // by log; only forward
  std::vector<delivery_row> rows;  // upserts
  std::vector<attempt_record> attempts;
  std::optional<int64_t> last_success_us;
  std::optional<int64_t> failing_since_us;
};

// A row that still needs delivery, with its event (if still retained).
struct pending_delivery {
  delivery_row row;
  event e;
};

class delivery_store {
public:
  virtual ~delivery_store() = default;
  // One transaction for all of it. Fenced progress whose lease this node
  // no longer holds is left out (the lease's new holder owns the state).
  virtual void save(const std::vector<endpoint_progress>& progress) = 0;
  // The endpoint's cursors. SQLite: the one cursor, created at `start_seq`
  // when missing. PostgreSQL: when the endpoint has none (created, or
  // enabled again), one at `start_seq` for this node's log and one at the
  // end of every other log; then every cursor there is (a log without one
  // is read from its start: its node began after the endpoint).
  virtual std::vector<endpoint_cursor> open_endpoint(const std::string& endpoint_id, uint64_t start_seq) = 0;
  // Rows retrying or queued for the endpoint whose event is retained, by seq.
  virtual std::vector<pending_delivery> pending(const std::string& endpoint_id) = 0;
  // Stops tracking an endpoint: `forget` deletes everything about it (the
  // endpoint was deleted); otherwise (disabled) its cursor goes and its open
  // rows become failed, keeping the attempt log.
  virtual void close_endpoint(const std::string& endpoint_id, bool forget, int64_t now) = 0;
  virtual std::vector<attempt_record> attempts(const std::string& endpoint_id, std::size_t limit) = 0;
  // The log an event's delivery state is kept under, and its seq there.
  virtual std::pair<std::string, uint64_t> home_of(const event& e) const = 0;
  // The rows of the event at `seq` in `log`, and the cursors of that log.
  virtual std::vector<delivery_row> rows_for_seq(const std::string& log, uint64_t seq) = 0;
  virtual std::vector<endpoint_cursor> cursors(const std::string& log) = 0;
  // Queues for redelivery the retained events of this node's log with
  // from <= seq <= to whose topic matches one of `patterns`, at most
  // `limit`; returns their rows (keyed by the log each event belongs to).
  virtual std::vector<pending_delivery> queue_replay(const std::string& endpoint_id,
                                                     const std::vector<std::string>& patterns,
                                                     uint64_t from_seq, uint64_t to_seq, std::size_t limit,
                                                     int64_t now) = 0;
  // The first seq with time >= time_us (or the last seq + 1 if none).
  virtual uint64_t first_seq_at_or_after(int64_t time_us) = 0;
  // The lowest seq some endpoint has not finished with (0: none): retention
  // keeps events from there on.
  virtual uint64_t retention_floor() = 0;
  // Drops rows and attempts of events no longer retained (seq < first_retained).
  virtual void prune(uint64_t first_retained_seq) = 0;
};

std::unique_ptr<delivery_store> open_sqlite_delivery_store(const std::filesystem::path& dir);

} // namespace evmesh
