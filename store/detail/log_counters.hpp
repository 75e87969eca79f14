// The figures a writable store keeps about its own log in memory (one writer
// per log, so they stay exact): first/last seq, events and bytes retained.
// Both backends use them for stats() and to decide where retention cuts.
#pragma once

#include "store/store.hpp"
#include "store/store_rows.hpp"

#include <algorithm>
#include <functional>
#include <optional>

namespace evmesh {

struct log_counters {
  uint64_t first_seq = 0;  // 0 when empty
  uint64_t last_seq = 0;
  uint64_t count = 0;
  uint64_t bytes = 0;

  void added(const event& e) {
    bytes += event_bytes(e);
    ++count;
    if (first_seq == 0)
      first_seq = e.seq;
  }

  // Events with seq <= upto were deleted (seqs are consecutive; retention
  // cuts a prefix).
  void cut(uint64_t upto, uint64_t deleted, uint64_t freed) {
    count -= deleted;
    bytes -= freed;
    first_seq = count == 0 ? 0 : upto + 1;
  }

  // Dedup ids of events from here on are kept whatever their age.
  uint64_t keep_ids_from() const { return count == 0 ? last_seq + 1 : first_seq; }

  store_stats stats() const { return {first_seq, last_seq, count, bytes}; }

  // Where retention cuts: events with seq <= the result go; nothing goes
  // when it is below first_seq. `last_seq_before(t)`: the newest seq with
  // time_us < t; `seq_freeing(n)`: the first seq at which the bytes from the
  // oldest event on reach n.
  uint64_t retention_cut(const retention_policy& policy, int64_t now,
                         const std::function<std::optional<uint64_t>(int64_t)>& last_seq_before,
                         const std::function<std::optional<uint64_t>(uint64_t)>& seq_freeing) const {
    uint64_t cut = 0;
    if (policy.max_age_us > 0)
      cut = last_seq_before(now - policy.max_age_us).value_or(0);
    if (policy.max_bytes > 0 && bytes > policy.max_bytes)
      cut = std::max(cut, seq_freeing(bytes - policy.max_bytes).value_or(0));
    if (policy.keep_from_seq > 0)
      cut = std::min(cut, policy.keep_from_seq - 1);
    return cut;
  }
};

} // namespace evmesh
