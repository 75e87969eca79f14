// See inbound_sequencer.hpp.
#include "cluster/detail/inbound_sequencer.hpp"

#include <algorithm>
#include <iterator>

namespace evmesh::cluster {

inbound_sequencer::inbound_sequencer(std::map<std::string, uint64_t> durable) {
  for (const auto& [origin, seq] : durable) {
    auto& st = origins_[origin];
    st.accepted = st.durable = seq;
  }
}

void inbound_sequencer::on_hello(const std::string& origin, uint64_t epoch) {
  auto& st = origins_[origin];
  st.synced = true;
  st.epoch = epoch;
  st.next_frame = 0;
  st.nacked = false;
}

frame_verdict inbound_sequencer::on_frame(const std::string& origin, uint64_t epoch,
                                          uint64_t frame_no) {
  auto& st = origins_[origin];
  if (!st.synced)
    return frame_verdict::unknown;
  if (epoch < st.epoch)
    return frame_verdict::stale;
  if ((epoch == st.epoch && frame_no == st.next_frame) || (epoch > st.epoch && frame_no == 0)) {
    st.epoch = epoch;
    st.next_frame = frame_no + 1;
    return frame_verdict::accept;
  }
  if (st.nacked && st.nacked_epoch == epoch)
    return frame_verdict::repeat;
  st.nacked = true;
  st.nacked_epoch = epoch;
  return frame_verdict::gap;
}

bool inbound_sequencer::accept_event(const std::string& origin, uint64_t origin_seq) {
  auto& st = origins_[origin];
  if (origin_seq <= st.accepted)
    return false;
  st.accepted = origin_seq;
  return true;
}

std::optional<store_batch> inbound_sequencer::queue_for_store(const std::string& origin,
                                                              store_batch frame) {
  auto& st = origins_[origin];
  if (!st.storing) {
    st.storing = true;
    return frame;
  }
  if (!st.waiting) {
    st.waiting = std::move(frame);
  } else {
    auto& w = *st.waiting;
    w.epoch = frame.epoch;
    w.frame_no = frame.frame_no;
    w.last_seq = std::max(w.last_seq, frame.last_seq);
    std::move(frame.events.begin(), frame.events.end(), std::back_inserter(w.events));
  }
  return std::nullopt;
}

std::optional<store_batch> inbound_sequencer::next_store(const std::string& origin) {
  auto& st = origins_[origin];
  if (!st.waiting) {
    st.storing = false;
    return std::nullopt;
  }
  auto next = std::move(st.waiting);
  st.waiting.reset();
  st.storing = true;
  return next;
}

void inbound_sequencer::stored(const std::string& origin, uint64_t origin_seq) {
  auto& st = origins_[origin];
  st.durable = std::max(st.durable, origin_seq);
}

void inbound_sequencer::store_failed(const std::string& origin) {
  auto& st = origins_[origin];
  st.storing = false;
  st.waiting.reset();
  st.accepted = st.durable;
  st.synced = false;  // the sender must say hello again and resend from the cursor
}

uint64_t inbound_sequencer::durable(const std::string& origin) const {
  auto it = origins_.find(origin);
  return it == origins_.end() ? 0 : it->second.durable;
}

} // namespace evmesh::cluster
