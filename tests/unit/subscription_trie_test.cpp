// Tests of the subscription trie: insert/erase/match bookkeeping, pruning,
// and a randomized comparison against a naive matcher built on topic_matches.
#include "model/subscription_trie.hpp"

#include <evmesh/topic.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace {

using evmesh::subscriber_id;
using evmesh::subscription_trie;
using ids = std::vector<subscriber_id>;

ids match(const subscription_trie& trie, std::string_view topic) {
  ids out{999}; // match() must clear what was there
  trie.match(topic, out);
  return out;
}

TEST(subscription_trie, empty_trie_matches_nothing) {
  subscription_trie trie;
  EXPECT_EQ(trie.size(), 0u);
  EXPECT_EQ(match(trie, "orders.created"), ids{});
}

TEST(subscription_trie, literal_star_and_tail) {
  subscription_trie trie;
  EXPECT_TRUE(trie.insert("orders.created", 1));
  EXPECT_TRUE(trie.insert("orders.*", 2));
  EXPECT_TRUE(trie.insert("orders.>", 3));
  EXPECT_TRUE(trie.insert(">", 4));
  EXPECT_TRUE(trie.insert("*.created", 5));
  EXPECT_TRUE(trie.insert("orders", 6));
  EXPECT_EQ(trie.size(), 6u);

  EXPECT_EQ(match(trie, "orders.created"), (ids{1, 2, 3, 4, 5}));
  EXPECT_EQ(match(trie, "orders.deleted"), (ids{2, 3, 4}));
  EXPECT_EQ(match(trie, "orders.created.eu"), (ids{3, 4}));
  EXPECT_EQ(match(trie, "orders"), (ids{4, 6}));
  EXPECT_EQ(match(trie, "users.created"), (ids{4, 5}));
  EXPECT_EQ(match(trie, "users"), (ids{4}));
}

TEST(subscription_trie, tail_needs_at_least_one_token) {
  subscription_trie trie;
  trie.insert("wallet.>", 7);
  EXPECT_EQ(match(trie, "wallet"), ids{});
  EXPECT_EQ(match(trie, "wallet.tx"), ids{7});
  EXPECT_EQ(match(trie, "wallet.tx.confirmed.late"), ids{7});
}

TEST(subscription_trie, star_is_exactly_one_token) {
  subscription_trie trie;
  trie.insert("a.*", 1);
  trie.insert("a.*.c", 2);
  EXPECT_EQ(match(trie, "a"), ids{});
  EXPECT_EQ(match(trie, "a.b"), ids{1});
  EXPECT_EQ(match(trie, "a.b.c"), ids{2});
  EXPECT_EQ(match(trie, "a.b.c.d"), ids{});
}

TEST(subscription_trie, each_subscriber_once_and_sorted) {
  subscription_trie trie;
  // Subscriber 9 reaches "a.b" through four patterns; inserted out of order.
  trie.insert("a.b", 9);
  trie.insert("a.*", 9);
  trie.insert(">", 9);
  trie.insert("*.b", 9);
  trie.insert("a.b", 3);
  trie.insert("*.*", 5);
  trie.insert("a.>", 1);
  EXPECT_EQ(match(trie, "a.b"), (ids{1, 3, 5, 9}));
}

TEST(subscription_trie, duplicates_are_refused) {
  subscription_trie trie;
  EXPECT_TRUE(trie.insert("orders.*", 1));
  EXPECT_FALSE(trie.insert("orders.*", 1));
  EXPECT_TRUE(trie.insert("orders.*", 2));
  EXPECT_EQ(trie.size(), 2u);
  EXPECT_TRUE(trie.erase("orders.*", 1));
  EXPECT_FALSE(trie.erase("orders.*", 1));
  EXPECT_EQ(trie.size(), 1u);
  EXPECT_EQ(match(trie, "orders.x"), ids{2});
}

TEST(subscription_trie, erase_of_absent_pairs) {
  subscription_trie trie;
  trie.insert("a.b.c", 1);
  EXPECT_FALSE(trie.erase("a.b", 1));     // a prefix of a stored pattern
  EXPECT_FALSE(trie.erase("a.b.c.d", 1)); // longer than any stored pattern
  EXPECT_FALSE(trie.erase("a.b.c", 2));   // other subscriber
  EXPECT_FALSE(trie.erase("a.*.c", 1));   // wildcard where a literal is stored
  EXPECT_FALSE(trie.erase("a.>", 1));
  EXPECT_EQ(trie.size(), 1u);
  EXPECT_EQ(match(trie, "a.b.c"), ids{1});
}

TEST(subscription_trie, erase_prunes_so_the_trie_is_as_good_as_new) {
  subscription_trie trie;
  // Prefix patterns share nodes: erasing the deep one must keep the shallow.
  trie.insert("a", 1);
  trie.insert("a.b.c.d", 2);
  trie.insert("a.*.>", 3);
  trie.insert("a.b.*", 4);
  EXPECT_TRUE(trie.erase("a.b.c.d", 2));
  EXPECT_EQ(match(trie, "a"), ids{1});
  EXPECT_EQ(match(trie, "a.b.c"), (ids{3, 4}));
  EXPECT_EQ(match(trie, "a.b.c.d"), ids{3});
  EXPECT_TRUE(trie.erase("a", 1));
  EXPECT_TRUE(trie.erase("a.*.>", 3));
  EXPECT_TRUE(trie.erase("a.b.*", 4));
  EXPECT_EQ(trie.size(), 0u);
  // The interface exposes no node count, so pruning shows only as behaviour:
  // nothing matches any more and the same paths can be built again.
  EXPECT_EQ(match(trie, "a.b.c"), ids{});
  EXPECT_TRUE(trie.insert("a.b.c.d", 2));
  EXPECT_EQ(match(trie, "a.b.c.d"), ids{2});
}

TEST(subscription_trie, move_leaves_an_empty_usable_trie) {
  subscription_trie trie;
  trie.insert("x.*", 1);
  subscription_trie moved{std::move(trie)};
  EXPECT_EQ(moved.size(), 1u);
  EXPECT_EQ(match(moved, "x.y"), ids{1});
  EXPECT_EQ(trie.size(), 0u); // NOLINT(bugprone-use-after-move): documented state
  EXPECT_EQ(match(trie, "x.y"), ids{});
  EXPECT_FALSE(trie.erase("x.*", 1));
  EXPECT_TRUE(trie.insert("x.*", 2));
  EXPECT_EQ(match(trie, "x.y"), ids{2});
  moved = std::move(trie);
  EXPECT_EQ(match(moved, "x.y"), ids{2});
  EXPECT_EQ(moved.size(), 1u);
}

// The reference: every stored (pattern, subscriber) pair tried in turn.
ids naive_match(const std::set<std::pair<std::string, subscriber_id>>& pairs,
                std::string_view topic) {
  std::set<subscriber_id> found;
  for (const auto& [pattern, subscriber] : pairs)
    if (evmesh::topic_matches(pattern, topic))
      found.insert(subscriber);
  return {found.begin(), found.end()};
}

TEST(subscription_trie, randomized_against_naive_matcher) {
  std::mt19937 rng{20240611};
  const std::vector<std::string> alphabet{"a", "b", "c", "orders", "x-1"};
  auto pick = [&](std::size_t n) { return std::uniform_int_distribution<std::size_t>{0, n - 1}(rng); };
  auto random_name = [&](bool pattern) {
    const std::size_t length = 1 + pick(4);
    std::string name;
    for (std::size_t i = 0; i < length; ++i) {
      if (i > 0)
        name += '.';
      const auto roll = pick(10);
      if (pattern && roll == 0 && i + 1 == length)
        name += '>';
      else if (pattern && roll <= 2)
        name += '*';
      else
        name += alphabet[pick(alphabet.size())];
    }
    return name;
  };

  subscription_trie trie;
  std::set<std::pair<std::string, subscriber_id>> pairs;
  std::vector<std::pair<std::string, subscriber_id>> history; // to erase real pairs often
  std::size_t matches_seen = 0;
  ids got;
  for (int round = 0; round < 20'000; ++round) {
    const auto action = pick(10);
    if (action < 5) {
      auto pattern = random_name(true);
      ASSERT_TRUE(evmesh::is_valid_pattern(pattern)) << pattern;
      const subscriber_id subscriber = pick(40);
      const bool fresh = pairs.emplace(pattern, subscriber).second;
      ASSERT_EQ(trie.insert(pattern, subscriber), fresh) << pattern << " " << subscriber;
      history.emplace_back(std::move(pattern), subscriber);
    } else if (action < 8 && !history.empty()) {
      const auto [pattern, subscriber] = history[pick(history.size())];
      const bool present = pairs.erase({pattern, subscriber}) == 1;
      ASSERT_EQ(trie.erase(pattern, subscriber), present) << pattern << " " << subscriber;
    } else {
      const auto topic = random_name(false);
      trie.match(topic, got);
      const auto expected = naive_match(pairs, topic);
      ASSERT_EQ(got, expected) << "topic " << topic << " in round " << round;
      matches_seen += got.size();
    }
    ASSERT_EQ(trie.size(), pairs.size());
  }
  // Sanity: the run exercised real matches and left a populated trie behind.
  EXPECT_GT(matches_seen, 1000u);
  EXPECT_GT(pairs.size(), 100u);

  // Empty everything out; pruning must leave nothing that still matches.
  for (const auto& [pattern, subscriber] : pairs)
    ASSERT_TRUE(trie.erase(pattern, subscriber));
  EXPECT_EQ(trie.size(), 0u);
  for (int i = 0; i < 200; ++i) {
    trie.match(random_name(false), got);
    ASSERT_TRUE(got.empty());
  }
}

} // namespace
