// The subscription trie behind the router (see subscription_trie.hpp). One
// node per pattern token: literal tokens in a hash map (looked up by
// string_view, so matching allocates nothing), `*` and `>` in their own
// slots. Each node keeps the subscribers whose pattern ends there in a sorted
// vector: ids are handed out in increasing order, so inserts append.
#include "model/subscription_trie.hpp"

#include <algorithm>
#include <functional>
#include <utility>

namespace evmesh {

namespace {

// Lets the children map be searched with a string_view (heterogeneous lookup).
struct token_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view token) const noexcept {
    return std::hash<std::string_view>{}(token);
  }
};

// Splits `text` at its first dot: returns the first token and leaves the rest
// in `text`; `last` is set when no dot remained.
std::string_view next_token(std::string_view& text, bool& last) noexcept {
  auto dot = text.find('.');
  last = dot == std::string_view::npos;
  auto token = text.substr(0, dot);
  text.remove_prefix(last ? text.size() : dot + 1);
  return token;
}

} // namespace

struct subscription_trie::node {
  std::unordered_map<std::string, std::unique_ptr<node>, token_hash, std::equal_to<>> children;
  std::unique_ptr<node> star; // `*`: exactly one token
  std::unique_ptr<node> tail; // `>`: one or more trailing tokens
  std::vector<subscriber_id> subscribers; // sorted, unique

  bool empty() const noexcept {
    return children.empty() && !star && !tail && subscribers.empty();
  }

  // The child slot for a pattern token (created if `create`), or null.
  std::unique_ptr<node>* slot(std::string_view token, bool create) {
    if (token == "*")
      return &star;
    if (token == ">")
      return &tail;
    if (auto it = children.find(token); it != children.end())
      return &it->second;
    if (!create)
      return nullptr;
    return &children.emplace(std::string{token}, nullptr).first->second;
  }

  // Removes (rest-of-pattern, subscriber) below this node, pruning children
  // that become empty. Returns whether the pair was there.
  bool erase(std::string_view rest, subscriber_id subscriber) {
    bool last = false;
    auto token = next_token(rest, last);
    auto* child = slot(token, false);
    if (child == nullptr || !*child)
      return false;
    bool removed = last ? (*child)->erase_here(subscriber) : (*child)->erase(rest, subscriber);
    if (removed && (*child)->empty()) {
      if (child == &star || child == &tail)
        child->reset();
      else
        children.erase(children.find(token));
    }
    return removed;
  }

  bool erase_here(subscriber_id subscriber) {
    auto it = std::lower_bound(subscribers.begin(), subscribers.end(), subscriber);
    if (it == subscribers.end() || *it != subscriber)
      return false;
    subscribers.erase(it);
    return true;
  }

  // Appends the subscribers of every pattern below this node that matches
  // `rest` (the topic tokens not consumed yet; `at_end` when none are left).
  void match(std::string_view rest, bool at_end, std::vector<subscriber_id>& out) const {
    if (at_end) {
      out.insert(out.end(), subscribers.begin(), subscribers.end());
      return;
    }
    if (tail)
      out.insert(out.end(), tail->subscribers.begin(), tail->subscribers.end());
    bool last = false;
    auto token = next_token(rest, last);
    if (auto it = children.find(token); it != children.end())
      it->second->match(rest, last, out);
    if (star)
      star->match(rest, last, out);
  }
};

subscription_trie::subscription_trie() : root_(std::make_unique<node>()) {}
subscription_trie::~subscription_trie() = default;

// A moved-from trie is empty (null root, size 0) and stays usable.
subscription_trie::subscription_trie(subscription_trie&& other) noexcept
  : root_(std::move(other.root_)), size_(std::exchange(other.size_, 0)) {}

subscription_trie& subscription_trie::operator=(subscription_trie&& other) noexcept {
  root_ = std::move(other.root_);
  size_ = std::exchange(other.size_, 0);
  return *this;
}

bool subscription_trie::insert(std::string_view pattern, subscriber_id subscriber) {
  if (!root_) // moved from
    root_ = std::make_unique<node>();
  node* current = root_.get();
  for (bool last = false; !last;) {
    auto& child = *current->slot(next_token(pattern, last), true);
    if (!child)
      child = std::make_unique<node>();
    current = child.get();
  }
  auto& subs = current->subscribers;
  auto it = std::lower_bound(subs.begin(), subs.end(), subscriber);
  if (it != subs.end() && *it == subscriber)
    return false;
  subs.insert(it, subscriber);
  ++size_;
  return true;
}

bool subscription_trie::erase(std::string_view pattern, subscriber_id subscriber) {
  if (!root_ || !root_->erase(pattern, subscriber))
    return false;
  --size_;
  return true;
}

void subscription_trie::match(std::string_view topic, std::vector<subscriber_id>& out) const {
  out.clear();
  if (!root_)
    return;
  root_->match(topic, false, out);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
}

} // namespace evmesh
