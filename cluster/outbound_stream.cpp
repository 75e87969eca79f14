// See outbound_stream.hpp.
#include "cluster/detail/outbound_stream.hpp"

#include <algorithm>

namespace evmesh::cluster {

namespace {

// What an event adds to a frame, roughly (the codec adds a few bytes).
std::size_t payload_bytes(const event& e) {
  std::size_t n = e.id.size() + e.topic.size() + e.data.size() + 32;
  for (const auto& [name, value] : e.headers)
    n += name.size() + value.size() + 4;
  return n;
}

} // namespace

outbound_stream::outbound_stream(stream_limits limits, uint64_t first_epoch)
    : limits_(limits), epoch_(first_epoch) {}

void outbound_stream::restart(uint64_t cursor) {
  if (started_)
    ++epoch_;
  started_ = true;
  next_frame_no_ = 0;
  window_.clear();
  ready_.clear();
  acked_ = cursor;
  covered_ = cursor;
  missing_open_ = true;  // what lies between the cursor and the tail: ask the store
  drop_covered_tail();
}

void outbound_stream::on_live(const std::vector<event_ptr>& events) {
  for (const auto& e : events) {
    if (e->seq <= covered_ || (!tail_.empty() && e->seq <= tail_.back()->seq))
      continue;
    if (tail_.size() >= limits_.tail_events) {
      missing_upto_ = std::max(missing_upto_, tail_.front()->seq);
      tail_.pop_front();
    }
    tail_.push_back(e);
  }
}

void outbound_stream::on_scan(std::vector<event> events, uint64_t scanned_to, bool at_end) {
  for (auto& e : events)
    if (e.seq > covered_)
      ready_.push_back(std::make_shared<const event>(std::move(e)));
  covered_ = std::max(covered_, scanned_to);
  if (!ready_.empty())
    covered_ = std::max(covered_, ready_.back()->seq);
  if (at_end)
    missing_open_ = false;
  drop_covered_tail();
}

void outbound_stream::on_ack(const ack_frame& ack) {
  acked_ = std::max(acked_, ack.cursor);
  if (ack.epoch != epoch_)
    return;
  while (!window_.empty() && window_.front() <= ack.frame_no)
    window_.pop_front();
}

bool outbound_stream::on_nack(const nack_frame& nack) {
  if (!started_ || nack.epoch != epoch_)
    return false;
  restart(std::max(acked_, nack.cursor));
  return true;
}

std::optional<outgoing_events> outbound_stream::next_frame() {
  if (!started_ || window_.size() >= limits_.window_frames)
    return std::nullopt;
  auto& source = !ready_.empty() ? ready_ : tail_;
  if (source.empty() || (&source == &tail_ && !tail_complete()))
    return std::nullopt;
  outgoing_events out{epoch_, next_frame_no_++, {}};
  std::size_t n = 0, bytes = 0;
  while (n < source.size() && n < limits_.frame_events) {
    bytes += payload_bytes(*source[n]);
    if (n > 0 && bytes > limits_.frame_bytes)
      break;
    ++n;
  }
  out.events.assign(source.begin(), source.begin() + static_cast<std::ptrdiff_t>(n));
  source.erase(source.begin(), source.begin() + static_cast<std::ptrdiff_t>(n));
  covered_ = std::max(covered_, out.events.back()->seq);
  window_.push_back(out.frame_no);
  return out;
}

std::optional<uint64_t> outbound_stream::next_scan() const {
  if (!started_ || tail_complete() || !ready_.empty() || window_.size() >= limits_.window_frames)
    return std::nullopt;
  return covered_;
}

void outbound_stream::drop_covered_tail() {
  while (!tail_.empty() && tail_.front()->seq <= covered_)
    tail_.pop_front();
}

} // namespace evmesh::cluster
