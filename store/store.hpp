// The durable store seam: the event log (with dedup and retention) and the
// registry (tokens, webhook endpoints, …). SQLite implements it
// (sqlite_store), PostgreSQL too (postgres_store); store/store_location.hpp
// picks one.
// A store object is used by exactly one actor: the writer actor owns one, the
// reader actor owns another, so no object here is shared between threads.
#pragma once

#include "model/registry_record.hpp"

#include <evmesh/event.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace evmesh {

// How long a published id is remembered for dedup.
constexpr int64_t dedup_window_us = int64_t{24} * 3600 * 1000 * 1000;

struct retention_policy {
  int64_t max_age_us = int64_t{7} * 24 * 3600 * 1000 * 1000;  // 0 = keep forever
  uint64_t max_bytes = uint64_t{1} << 30;                     // 0 = no size cap
  // Events with seq >= this are kept whatever their age or the size: a
  // webhook endpoint has not finished with them (0 = no such floor).
  uint64_t keep_from_seq = 0;
};

struct append_outcome {
  uint64_t seq = 0;
  bool duplicate = false;  // the id was stored before; seq is the stored one
};

struct store_stats {
  uint64_t first_seq = 0;  // 0 when the log is empty
  uint64_t last_seq = 0;
  uint64_t events = 0;
  uint64_t bytes = 0;      // payload bytes retained (data + topic + id)
};

class store {
public:
  virtual ~store() = default;

  // Appends the batch in one transaction with one sync to disk. Each event
  // whose id was stored in the last 24 h is not stored again: its outcome is
  // the stored seq with duplicate = true (this holds within the batch too).
  // Events with an origin (received from a peer) advance that peer's cursor
  // in the same transaction, duplicates included.
  // New events get consecutive seqs, written back into `batch`. Throws
  // std::runtime_error when the transaction fails (nothing of it is stored).
  virtual std::vector<append_outcome> append(std::vector<event>& batch) = 0;

  // Retained events with seq > after_seq whose topic passes `keep`, oldest
  // first, at most `limit`; stops after examining `max_scanned` rows and
  // reports in `scanned_to` the last seq it looked at (a resume cursor).
  virtual std::vector<event> scan(uint64_t after_seq, std::size_t limit,
                                  const std::function<bool(std::string_view topic)>& keep,
                                  std::size_t max_scanned, uint64_t& scanned_to) = 0;

  // Like scan, over the events published on this node only (not those
  // received from peers): what a cluster link ships to a peer. at_end: no
  // local event follows the last one examined.
  virtual std::vector<event> scan_local(uint64_t after_seq, std::size_t limit,
                                        const std::function<bool(std::string_view topic)>& keep,
                                        std::size_t max_scanned, uint64_t& scanned_to,
                                        bool& at_end) = 0;

  // A shared store (PostgreSQL) holds every node's log: their names (a
  // node's log appears with its first event). Empty on a per-node store.
  virtual std::vector<std::string> logs() { return {}; }

  // Like scan_local, over the local events of the named node's log (a
  // shared store only: the webhook delivery of whichever node holds an
  // endpoint's lease reads every node's log).
  virtual std::vector<event> scan_log(const std::string& /*log*/, uint64_t /*after_seq*/, std::size_t /*limit*/,
                                      const std::function<bool(std::string_view topic)>& /*keep*/,
                                      std::size_t /*max_scanned*/, uint64_t& /*scanned_to*/) {
    throw std::logic_error("this store holds only its own node's log");
  }

  // Per peer node, the highest origin_seq of its events stored here: where
  // its link resumes after a restart (appended with the events, atomically).
  virtual std::map<std::string, uint64_t> load_peer_cursors() = 0;

  // The retained event with this id.
  virtual std::optional<event> find(std::string_view id) = 0;

  virtual store_stats stats() = 0;

  // Checks that the store answers (a server store reconnects here after an
  // outage); throws when it does not.
  virtual void ping() = 0;

  // Deletes events past the policy (and dedup ids older than 24 h that no
  // retained event needs); returns how many events were deleted.
  virtual uint64_t enforce_retention(const retention_policy& policy, int64_t now_us) = 0;

  // Registry records, tombstones included (see registry_record::deleted).
  virtual void put_record(const registry_record& record) = 0;
  virtual std::vector<registry_record> load_records(std::string_view kind) = 0;
};

enum class store_access { read_write, read_only };

// Opens (creating if needed) <dir>/evmesh.db in WAL mode. Throws
// std::runtime_error naming the file and SQLite's reason.
std::unique_ptr<store> open_sqlite_store(const std::filesystem::path& dir, store_access access);

} // namespace evmesh
