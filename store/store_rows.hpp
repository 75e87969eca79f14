// What both store backends (SQLite, PostgreSQL) share about rows: how
// headers are stored, how an event's size is counted for retention, and the
// filtered scan over rows in seq order that scan/scan_local/replay use.
#pragma once

#include <evmesh/event.hpp>
#include <evmesh/topic.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace evmesh {

// Header text is checked as UTF-8 at the edges (check_envelope); replacing
// rather than throwing keeps one bad value from failing a whole batch.
inline std::string headers_to_json(const std::map<std::string, std::string>& headers) {
  return nlohmann::json(headers).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

inline std::map<std::string, std::string> headers_from_json(const std::string& text) {
  return nlohmann::json::parse(text).get<std::map<std::string, std::string>>();
}

// The payload bytes retention counts: id + topic + data.
inline uint64_t event_bytes(const event& e) { return e.id.size() + e.topic.size() + e.data.size(); }

inline bool matches_any(const std::vector<std::string>& patterns, std::string_view topic) {
  return std::any_of(patterns.begin(), patterns.end(),
                     [&](const std::string& p) { return topic_matches(p, topic); });
}

// Walks `rows` (seq order, at most max_scanned of them; a source with
// bool next(), uint64_t seq(), std::string topic(), event read()) and keeps
// those whose topic passes `keep`, up to `limit`. scanned_to: the last seq
// examined (after_seq if none); at_end: the rows ran out before max_scanned.
template <class Rows>
std::vector<event> collect_scan(Rows& rows, uint64_t after_seq, std::size_t limit,
                                const std::function<bool(std::string_view)>& keep,
                                std::size_t max_scanned, uint64_t& scanned_to, bool& at_end) {
  std::vector<event> out;
  scanned_to = after_seq;
  std::size_t examined = 0;
  at_end = false;
  while (out.size() < limit) {
    if (!rows.next()) {
      at_end = examined < max_scanned;
      break;
    }
    ++examined;
    scanned_to = rows.seq();
    if (keep(rows.topic()))
      out.push_back(rows.read());
  }
  return out;
}

} // namespace evmesh
