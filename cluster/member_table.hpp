// Who is in the cluster and how they are doing, as this node sees it.
// Members are keyed by their cluster address (what one dials); the name and
// incarnation come from what they say about themselves. A member heard from
// recently is alive; silent for `suspect_after` it is suspect, for
// `dead_after` dead; one that said bye is `left`. Dead and left members are
// still dialled, so they rejoin by themselves
// when it comes back. Pure logic, owned by the cluster manager actor.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace evmesh::cluster {

enum class member_state { joining, alive, suspect, dead, left };
const char* to_string(member_state s);

struct member {
  std::string addr;
  std::string name;          // empty until heard from
  uint64_t incarnation = 0;  // changes when the member restarts
  member_state state = member_state::joining;
  int64_t last_heard_us = 0;
};

struct member_change {
  std::string addr;
  member_state from;
  member_state to;
};

class member_table {
public:
  member_table(std::string self_addr, int64_t suspect_after_us, int64_t dead_after_us);

  // An address to dial (a seed, or gossip); true when it was not known.
  bool learn(const std::string& addr);
  // The member spoke. Returns the change of state, if any; `restarted` is
  // set when its incarnation differs from the one known.
  std::vector<member_change> heard(const std::string& addr, const std::string& name,
                                   uint64_t incarnation, int64_t now_us, bool& restarted);
  // Moves silent members to suspect and dead.
  std::vector<member_change> tick(int64_t now_us);
  // The member said it is leaving (that incarnation of it): it is no longer
  // live, and stays `left` until it is heard again.
  std::vector<member_change> left(const std::string& addr, uint64_t incarnation);

  const std::map<std::string, member>& members() const { return members_; }
  std::vector<std::string> addresses() const;
  // Names of the members that are alive, this node's own name included.
  std::vector<std::string> live_names(const std::string& self_name) const;

private:
  std::string self_;
  int64_t suspect_after_us_;
  int64_t dead_after_us_;
  std::map<std::string, member> members_;
};

// Rendezvous (highest random weight) hashing: the name among `names` that
// owns `key`. Every node computes the same owner from the same member set;
// when a member leaves, only its keys move. Empty when `names` is empty.
std::string rendezvous_owner(std::string_view key, const std::vector<std::string>& names);

} // namespace evmesh::cluster
