// See member_table.hpp.
#include "cluster/member_table.hpp"

#include <openssl/sha.h>

#include <cstring>

namespace evmesh::cluster {

const char* to_string(member_state s) {
  switch (s) {
    case member_state::joining: return "joining";
    case member_state::alive: return "alive";
    case member_state::suspect: return "suspect";
    case member_state::dead: return "dead";
    case member_state::left: return "left";
  }
  return "unknown";
}

member_table::member_table(std::string self_addr, int64_t suspect_after_us, int64_t dead_after_us)
    : self_(std::move(self_addr)), suspect_after_us_(suspect_after_us), dead_after_us_(dead_after_us) {}

bool member_table::learn(const std::string& addr) {
  if (addr == self_ || members_.count(addr))
    return false;
  members_[addr].addr = addr;
  return true;
}

std::vector<member_change> member_table::heard(const std::string& addr, const std::string& name,
                                               uint64_t incarnation, int64_t now_us,
                                               bool& restarted) {
  std::vector<member_change> changes;
  restarted = false;
  if (addr == self_)
    return changes;
  auto& m = members_[addr];
  m.addr = addr;
  restarted = m.incarnation != 0 && m.incarnation != incarnation;
  m.name = name;
  m.incarnation = incarnation;
  m.last_heard_us = now_us;
  if (m.state != member_state::alive) {
    changes.push_back({addr, m.state, member_state::alive});
    m.state = member_state::alive;
  }
  return changes;
}

std::vector<member_change> member_table::tick(int64_t now_us) {
  std::vector<member_change> changes;
  for (auto& [addr, m] : members_) {
    if (m.state == member_state::joining || m.state == member_state::dead
        || m.state == member_state::left)
      continue;
    auto silent = now_us - m.last_heard_us;
    auto next = silent >= dead_after_us_      ? member_state::dead
                : silent >= suspect_after_us_ ? member_state::suspect
                                              : member_state::alive;
    if (next != m.state) {
      changes.push_back({addr, m.state, next});
      m.state = next;
    }
  }
  return changes;
}

std::vector<member_change> member_table::left(const std::string& addr, uint64_t incarnation) {
  auto it = members_.find(addr);
  if (it == members_.end() || it->second.incarnation != incarnation
      || it->second.state == member_state::left)
    return {};
  auto from = it->second.state;
  it->second.state = member_state::left;
  return {{addr, from, member_state::left}};
}

std::vector<std::string> member_table::addresses() const {
  std::vector<std::string> out;
  out.reserve(members_.size());
  for (const auto& [addr, m] : members_)
    out.push_back(addr);
  return out;
}

std::vector<std::string> member_table::live_names(const std::string& self_name) const {
  std::vector<std::string> out{self_name};
  for (const auto& [addr, m] : members_)
    if (m.state == member_state::alive && !m.name.empty())
      out.push_back(m.name);
  return out;
}

std::string rendezvous_owner(std::string_view key, const std::vector<std::string>& names) {
  std::string best;
  unsigned char best_weight[SHA256_DIGEST_LENGTH] = {};
  for (const auto& name : names) {
    std::string input;
    input.reserve(name.size() + key.size() + 1);
    input.append(name).push_back('\0');
    input.append(key);
    unsigned char weight[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(), weight);
    if (best.empty() || std::memcmp(weight, best_weight, sizeof weight) > 0
        || (std::memcmp(weight, best_weight, sizeof weight) == 0 && name < best)) {
      best = name;
      std::memcpy(best_weight, weight, sizeof weight);
    }
  }
  return best;
}

} // namespace evmesh::cluster
