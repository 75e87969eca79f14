// How PostgreSQL rows become evmesh values, shared by the event store and
// the delivery store (both read evmesh_events rows).
#pragma once

#include "store/detail/postgres_connection.hpp"
#include "store/store_rows.hpp"

namespace evmesh::pg {

// The columns of an evmesh_events row in the order read_event expects.
inline constexpr const char* event_columns =
  "seq, id, topic, time_us, is_binary, data, headers, origin, origin_seq";

// The event in columns first..first+8 of `row` (in event_columns order).
inline event read_event(const result& r, int row, int first = 0) {
  event e;
  e.seq = static_cast<uint64_t>(r.integer(row, first));
  e.id = r.text(row, first + 1);
  e.topic = r.text(row, first + 2);
  e.time_us = r.integer(row, first + 3);
  e.binary = r.boolean(row, first + 4);
  e.data = r.text(row, first + 5);
  if (!r.is_null(row, first + 6))
    e.headers = headers_from_json(r.text(row, first + 6));
  if (!r.is_null(row, first + 7)) {
    e.origin = r.text(row, first + 7);
    e.origin_seq = static_cast<uint64_t>(r.integer(row, first + 8));
  }
  return e;
}

// Event rows in seq order, fetched page by page from a prepared statement
// taking (node, after seq, [upper bound,] row limit), at most `max_rows` in
// all: the row source collect_scan walks.
class event_pages {
public:
  event_pages(connection& db, const char* statement, std::string node, uint64_t after_seq,
              std::size_t max_rows, std::optional<uint64_t> upto = std::nullopt)
    : db_(db), statement_(statement), node_(std::move(node)), after_(after_seq), left_(max_rows), upto_(upto) {}

  bool next() {
    if (page_ && ++row_ < page_->rows())
      return true;
    if (page_ && !more_)
      return false;
    if (left_ == 0)
      return false;
    auto size = std::min<std::size_t>(left_, page_rows);
    params p;
    p.text(node_).integer(static_cast<int64_t>(after_));
    if (upto_)
      p.integer(static_cast<int64_t>(*upto_));
    p.integer(static_cast<int64_t>(size));
    page_.emplace(db_.run(statement_, p));
    row_ = 0;
    auto got = static_cast<std::size_t>(page_->rows());
    left_ -= got;
    more_ = got == size;
    if (got == 0)
      return false;
    after_ = static_cast<uint64_t>(page_->integer(got - 1, 0));
    return true;
  }
  uint64_t seq() const { return static_cast<uint64_t>(page_->integer(row_, 0)); }
  std::string topic() const { return page_->text(row_, 2); }
  event read() const { return read_event(*page_, row_); }

private:
  static constexpr std::size_t page_rows = 512;
  connection& db_;
  const char* statement_;
  std::string node_;
  uint64_t after_;
  std::size_t left_;
  std::optional<uint64_t> upto_;
  std::optional<result> page_;
  int row_ = 0;
  bool more_ = true;
};

} // namespace evmesh::pg
