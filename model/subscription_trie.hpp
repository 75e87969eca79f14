// The subscription trie: which subscribers want which topics, under the NATS
// pattern rules (`*` one token, `>` one or more trailing tokens). Owned by the
// router actor; not thread-safe, by design (one owner).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace evmesh {

using subscriber_id = uint64_t;

class subscription_trie {
public:
  subscription_trie();
  ~subscription_trie();
  subscription_trie(subscription_trie&&) noexcept;
  subscription_trie& operator=(subscription_trie&&) noexcept;

  // Adds (pattern, subscriber); returns false if it was already there.
  // The pattern must be valid (check_pattern) — the caller validates.
  bool insert(std::string_view pattern, subscriber_id subscriber);
  // Removes (pattern, subscriber); returns false if it was not there.
  // Prunes nodes that become empty.
  bool erase(std::string_view pattern, subscriber_id subscriber);
  // Appends to `out` every subscriber with a pattern matching `topic`, each
  // once, in ascending order. `out` is cleared first.
  void match(std::string_view topic, std::vector<subscriber_id>& out) const;
  // Number of (pattern, subscriber) pairs.
  std::size_t size() const noexcept { return size_; }

private:
  struct node;
  std::unique_ptr<node> root_;
  std::size_t size_ = 0;
};

} // namespace evmesh
