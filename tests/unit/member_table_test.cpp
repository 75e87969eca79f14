// Tests of cluster membership (cluster/member_table): learning addresses,
// the joining → alive → suspect → dead → alive transitions at explicit times,
// restart detection by incarnation, this node never being its own member,
// live names; and rendezvous hashing: deterministic, always an owner among
// the names, only a removed name's keys move, roughly balanced.
#include "cluster/member_table.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace {

using evmesh::cluster::member_change;
using evmesh::cluster::member_state;
using evmesh::cluster::member_table;
using evmesh::cluster::rendezvous_owner;

constexpr int64_t suspect_after = 3'000'000;  // 3 s
constexpr int64_t dead_after = 10'000'000;    // 10 s
const std::string self = "10.0.0.1:7100";
const std::string b = "10.0.0.2:7100";
const std::string c = "10.0.0.3:7100";

std::string describe(const std::vector<member_change>& changes) {
  std::string out;
  for (const auto& ch : changes)
    out += ch.addr + ":" + evmesh::cluster::to_string(ch.from) + "->" +
           evmesh::cluster::to_string(ch.to) + " ";
  return out;
}

std::string change(const std::string& addr, member_state from, member_state to) {
  return describe({member_change{addr, from, to}});
}

member_state state_of(const member_table& t, const std::string& addr) {
  return t.members().at(addr).state;
}

TEST(member_table, state_names) {
  EXPECT_STREQ(to_string(member_state::joining), "joining");
  EXPECT_STREQ(to_string(member_state::alive), "alive");
  EXPECT_STREQ(to_string(member_state::suspect), "suspect");
  EXPECT_STREQ(to_string(member_state::dead), "dead");
}

TEST(member_table, learn_adds_an_address_once) {
  member_table t{self, suspect_after, dead_after};
  EXPECT_TRUE(t.learn(b));
  EXPECT_FALSE(t.learn(b));
  EXPECT_TRUE(t.learn(c));
  EXPECT_EQ(t.addresses(), (std::vector<std::string>{b, c}));
  const auto& m = t.members().at(b);
  EXPECT_EQ(m.addr, b);
  EXPECT_EQ(m.name, "");
  EXPECT_EQ(m.state, member_state::joining);
  EXPECT_EQ(m.incarnation, 0u);
}

TEST(member_table, self_is_never_a_member) {
  member_table t{self, suspect_after, dead_after};
  EXPECT_FALSE(t.learn(self));
  bool restarted = true;
  EXPECT_TRUE(t.heard(self, "me", 1, 100, restarted).empty());
  EXPECT_FALSE(restarted);
  EXPECT_TRUE(t.members().empty());
  EXPECT_TRUE(t.addresses().empty());
  EXPECT_TRUE(t.tick(dead_after * 10).empty());
  EXPECT_EQ(t.live_names("me"), (std::vector<std::string>{"me"}));
}

TEST(member_table, joining_members_wait_for_a_first_word) {
  member_table t{self, suspect_after, dead_after};
  t.learn(b);
  // Silence from a member never heard from does not make it suspect or dead.
  EXPECT_TRUE(t.tick(dead_after * 5).empty()) << describe(t.tick(dead_after * 5));
  EXPECT_EQ(state_of(t, b), member_state::joining);
}

TEST(member_table, full_life_cycle_at_explicit_times) {
  member_table t{self, suspect_after, dead_after};
  t.learn(b);
  bool restarted = true;
  const int64_t t0 = 1'000'000'000;

  auto ch = t.heard(b, "node-b", 7, t0, restarted);
  EXPECT_EQ(describe(ch), change(b, member_state::joining, member_state::alive));
  EXPECT_FALSE(restarted);
  EXPECT_EQ(t.members().at(b).name, "node-b");
  EXPECT_EQ(t.members().at(b).incarnation, 7u);
  EXPECT_EQ(t.members().at(b).last_heard_us, t0);

  // Hearing again while alive: no change.
  EXPECT_TRUE(t.heard(b, "node-b", 7, t0 + 1000, restarted).empty());
  EXPECT_FALSE(restarted);
  const int64_t heard = t0 + 1000;

  // Just before the suspect threshold: still alive.
  EXPECT_TRUE(t.tick(heard + suspect_after - 1).empty());
  EXPECT_EQ(state_of(t, b), member_state::alive);
  // At it: suspect (once).
  EXPECT_EQ(describe(t.tick(heard + suspect_after)),
            change(b, member_state::alive, member_state::suspect));
  EXPECT_TRUE(t.tick(heard + suspect_after + 1).empty());
  EXPECT_TRUE(t.tick(heard + dead_after - 1).empty());
  EXPECT_EQ(state_of(t, b), member_state::suspect);
  // At the dead threshold: dead, and it stays dead while silent.
  EXPECT_EQ(describe(t.tick(heard + dead_after)),
            change(b, member_state::suspect, member_state::dead));
  EXPECT_TRUE(t.tick(heard + dead_after * 100).empty());
  EXPECT_EQ(state_of(t, b), member_state::dead);
  // A dead member is still known (it is still dialled).
  EXPECT_EQ(t.addresses(), (std::vector<std::string>{b}));

  // It speaks again: alive.
  const int64_t back = heard + dead_after * 100 + 5;
  EXPECT_EQ(describe(t.heard(b, "node-b", 7, back, restarted)),
            change(b, member_state::dead, member_state::alive));
  EXPECT_FALSE(restarted);
  EXPECT_TRUE(t.tick(back + suspect_after - 1).empty());
}

TEST(member_table, a_suspect_heard_from_is_alive_again) {
  member_table t{self, suspect_after, dead_after};
  bool restarted = false;
  t.heard(b, "node-b", 1, 0, restarted);
  EXPECT_EQ(describe(t.tick(suspect_after)), change(b, member_state::alive, member_state::suspect));
  EXPECT_EQ(describe(t.heard(b, "node-b", 1, suspect_after + 1, restarted)),
            change(b, member_state::suspect, member_state::alive));
  // The clock restarts from the last word.
  EXPECT_TRUE(t.tick(suspect_after + 1 + suspect_after - 1).empty());
  EXPECT_EQ(state_of(t, b), member_state::alive);
}

TEST(member_table, a_big_jump_in_time_goes_straight_to_dead) {
  member_table t{self, suspect_after, dead_after};
  bool restarted = false;
  t.heard(b, "node-b", 1, 0, restarted);
  EXPECT_EQ(describe(t.tick(dead_after)), change(b, member_state::alive, member_state::dead));
}

TEST(member_table, heard_without_learn_adds_the_member) {
  member_table t{self, suspect_after, dead_after};
  bool restarted = true;
  EXPECT_EQ(describe(t.heard(c, "node-c", 3, 10, restarted)),
            change(c, member_state::joining, member_state::alive));
  EXPECT_FALSE(restarted);
  EXPECT_FALSE(t.learn(c));
}

TEST(member_table, a_new_incarnation_is_a_restart) {
  member_table t{self, suspect_after, dead_after};
  bool restarted = true;
  t.heard(b, "node-b", 100, 0, restarted);
  EXPECT_FALSE(restarted);  // the first incarnation seen is no restart
  t.heard(b, "node-b", 100, 1, restarted);
  EXPECT_FALSE(restarted);
  // Restarted while alive: no state change, but reported.
  EXPECT_TRUE(t.heard(b, "node-b", 101, 2, restarted).empty());
  EXPECT_TRUE(restarted);
  EXPECT_EQ(t.members().at(b).incarnation, 101u);
  t.heard(b, "node-b", 101, 3, restarted);
  EXPECT_FALSE(restarted);
  // Restarted while dead: both.
  t.tick(3 + dead_after);
  ASSERT_EQ(state_of(t, b), member_state::dead);
  EXPECT_EQ(describe(t.heard(b, "node-b", 50, 4 + dead_after, restarted)),
            change(b, member_state::dead, member_state::alive));
  EXPECT_TRUE(restarted);
  // A renamed member keeps its address; the new name is used.
  t.heard(b, "node-b2", 50, 5 + dead_after, restarted);
  EXPECT_EQ(t.members().at(b).name, "node-b2");
}

TEST(member_table, tick_reports_each_member_that_changed) {
  member_table t{self, suspect_after, dead_after};
  bool restarted = false;
  t.heard(b, "node-b", 1, 0, restarted);
  t.heard(c, "node-c", 1, 2'000'000, restarted);
  t.learn("10.0.0.4:7100");
  auto ch = t.tick(suspect_after);
  EXPECT_EQ(describe(ch), change(b, member_state::alive, member_state::suspect));
  ch = t.tick(2'000'000 + suspect_after);
  EXPECT_EQ(describe(ch), change(c, member_state::alive, member_state::suspect));
  ch = t.tick(2'000'000 + dead_after);
  EXPECT_EQ(describe(ch), change(b, member_state::suspect, member_state::dead) +
                            change(c, member_state::suspect, member_state::dead));
  EXPECT_EQ(state_of(t, "10.0.0.4:7100"), member_state::joining);
}

TEST(member_table, live_names_are_self_and_the_alive_members) {
  member_table t{self, suspect_after, dead_after};
  bool restarted = false;
  t.learn("10.0.0.9:7100");  // joining: no name yet
  t.heard(b, "node-b", 1, 0, restarted);
  t.heard(c, "node-c", 1, 5'000'000, restarted);
  EXPECT_EQ(t.live_names("me"), (std::vector<std::string>{"me", "node-b", "node-c"}));
  t.tick(suspect_after + 1);  // b suspect
  EXPECT_EQ(t.live_names("me"), (std::vector<std::string>{"me", "node-c"}));
  t.tick(5'000'000 + dead_after);  // both dead
  EXPECT_EQ(t.live_names("me"), (std::vector<std::string>{"me"}));
}

// --- rendezvous hashing ----------------------------------------------------------

std::vector<std::string> keys(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i)
    out.push_back("orders." + std::to_string(i));
  return out;
}

TEST(rendezvous_owner, empty_names_have_no_owner) {
  EXPECT_EQ(rendezvous_owner("k", {}), "");
}

TEST(rendezvous_owner, one_name_owns_everything) {
  for (const auto& k : keys(50))
    EXPECT_EQ(rendezvous_owner(k, {"only"}), "only");
}

TEST(rendezvous_owner, deterministic_and_independent_of_order) {
  const std::vector<std::string> names{"node-a", "node-b", "node-c", "node-d"};
  auto reversed = names;
  std::reverse(reversed.begin(), reversed.end());
  const std::vector<std::string> rotated{"node-c", "node-d", "node-a", "node-b"};
  for (const auto& k : keys(1000)) {
    const auto owner = rendezvous_owner(k, names);
    EXPECT_EQ(rendezvous_owner(k, names), owner);
    EXPECT_EQ(rendezvous_owner(k, reversed), owner) << k;
    EXPECT_EQ(rendezvous_owner(k, rotated), owner) << k;
  }
}

TEST(rendezvous_owner, a_known_answer) {
  // Pins the weight (SHA-256 of name, NUL, key; the largest digest wins): every
  // node, whatever its version, must compute the same owner. The expected
  // owners were computed independently with Python's hashlib.
  const std::vector<std::string> names{"node-a", "node-b", "node-c"};
  std::string owners;
  for (const auto& k : keys(10))
    owners += rendezvous_owner(k, names).back();
  EXPECT_EQ(owners, "acccbccbac");
}

TEST(rendezvous_owner, every_key_has_an_owner_among_the_names) {
  const std::vector<std::string> names{"node-a", "node-b", "node-c", "x", "y.z"};
  const std::set<std::string> set(names.begin(), names.end());
  for (const auto& k : keys(1000)) {
    auto owner = rendezvous_owner(k, names);
    EXPECT_TRUE(set.count(owner)) << k << " -> \"" << owner << "\"";
  }
  EXPECT_TRUE(set.count(rendezvous_owner("", names)));
}

TEST(rendezvous_owner, removing_a_name_moves_only_its_keys) {
  const std::vector<std::string> all{"node-a", "node-b", "node-c", "node-d"};
  for (const auto& gone : all) {
    std::vector<std::string> rest;
    for (const auto& n : all)
      if (n != gone)
        rest.push_back(n);
    int moved = 0;
    for (const auto& k : keys(1000)) {
      const auto before = rendezvous_owner(k, all);
      const auto after = rendezvous_owner(k, rest);
      ASSERT_NE(after, gone);
      if (before == gone)
        ++moved;
      else
        EXPECT_EQ(after, before) << k << " moved though " << before << " stayed";
    }
    EXPECT_GT(moved, 0) << gone << " owned no key";
  }
}

TEST(rendezvous_owner, adding_a_name_moves_keys_only_to_it) {
  const std::vector<std::string> three{"node-a", "node-b", "node-c"};
  auto four = three;
  four.push_back("node-d");
  int moved = 0;
  for (const auto& k : keys(1000)) {
    const auto before = rendezvous_owner(k, three);
    const auto after = rendezvous_owner(k, four);
    if (after != before) {
      EXPECT_EQ(after, "node-d") << k;
      ++moved;
    }
  }
  // About a quarter of the keys.
  EXPECT_GT(moved, 150);
  EXPECT_LT(moved, 350);
}

TEST(rendezvous_owner, roughly_balanced_over_three_names) {
  const std::vector<std::string> names{"node-a", "node-b", "node-c"};
  std::map<std::string, int> counts;
  for (const auto& k : keys(3000))
    ++counts[rendezvous_owner(k, names)];
  ASSERT_EQ(counts.size(), 3u);
  for (const auto& [name, n] : counts) {
    // 1000 expected; binomial sd ≈ 26, so ±20 % is far outside chance.
    EXPECT_GT(n, 800) << name;
    EXPECT_LT(n, 1200) << name;
  }
}

} // namespace
