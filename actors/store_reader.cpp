// See store_reader.hpp.
#include "actors/store_reader.hpp"

#include "store/store_rows.hpp"

#include <evmesh/topic.hpp>

#include <algorithm>

namespace evmesh {
namespace {

// Rows examined per history request at most; a sparse pattern over a long
// log answers with fewer events and a cursor to continue from.
constexpr std::size_t max_scanned_rows = 100000;

store_reader_actor::behavior_type reader(store_reader_actor::pointer, std::shared_ptr<store> db) {
  return {
    [db](history_atom, const history_query& q) -> history_page {
      history_page page;
      try {
        page.events = db->scan(
          q.after_seq, q.limit,
          [&](std::string_view topic) {
            return topic_matches(q.pattern, topic) && !is_registry_topic(topic);
          },
          max_scanned_rows, page.next_after);
      } catch (const std::exception& e) {
        page.error = e.what();
      }
      return page;
    },
    [db](dl_scan_atom, const log_scan& q) -> log_page {
      log_page page;
      auto keep = [&](std::string_view topic) { return matches_any(q.patterns, topic); };
      try {
        page.events = db->scan(q.after_seq, q.limit, keep, max_scanned_rows, page.scanned_to);
        if (page.events.size() < q.limit) {
          // Rows ran out, or the scan stopped at max_scanned_rows: one more
          // row after scanned_to tells which.
          uint64_t probe = page.scanned_to;
          db->scan(page.scanned_to, 1, [](std::string_view) { return false; }, 1, probe);
          page.at_end = probe == page.scanned_to;
        }
      } catch (const std::exception& e) {
        page.error = e.what();
      }
      return page;
    },
    [db](dl_scan_atom, const shared_log_scan& q) -> shared_log_pages {
      shared_log_pages out;
      auto keep = [&](std::string_view topic) { return matches_any(q.patterns, topic); };
      try {
        for (const auto& log : db->logs()) {
          auto& page = out.logs[log];
          auto after = q.after.find(log);
          page.scanned_to = after == q.after.end() ? 0 : after->second;
          page.events = db->scan_log(log, page.scanned_to, q.limit, keep, max_scanned_rows, page.scanned_to);
        }
      } catch (const std::exception& e) {
        out.error = e.what();
      }
      return out;
    },
    [db](find_atom, const std::string& id) -> std::optional<event> {
      try {
        auto found = db->find(id);
        if (found && is_registry_topic(found->topic))
          return std::nullopt;
        return found;
      } catch (const std::exception&) {
        return std::nullopt;
      }
    },
  };
}

} // namespace

store_reader_actor spawn_store_reader(caf::actor_system& sys, std::unique_ptr<store> db) {
  return sys.spawn<caf::detached>(reader, std::shared_ptr<store>(std::move(db)));
}

} // namespace evmesh
