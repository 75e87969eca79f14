// One subscription that can resume, as the edges serve it (SSE streams and
// WebSocket subscriptions): it subscribes to the router through the
// controller and, with a resume point, first replays retained history after
// it from the store reader, then continues live. Every event with a seq
// after the resume point reaches the sink once, in order: the subscription
// exists before history is read, so each event is in the history read
// afterwards or delivered live (or both); live events wait in a buffer
// (bounded by the queue limit) until the replay is done, and the highest seq
// already delivered drops those the history covered.
#pragma once

#include "actors/messages.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace evmesh {

struct event_feed_context {
  controller_actor controller;
  store_reader_actor reader;
  caf::actor gateway;
  std::size_t queue_limit = 65536;  // events the subscriber may lag behind
};

enum class feed_failure {
  subscribe_failed,  // the controller did not answer
  history_failed,    // the store could not read the replay
  fell_behind,       // more than queue_limit events behind
};

// Where a feed's events go. The callbacks run one at a time (under the
// feed's lock), never after stop() has returned, and must not block; they
// may call stop().
struct event_feed_sink {
  // Subscribed; events follow (the replay first, when resuming).
  std::function<void()> on_open;
  // Events in seq order, each once. Returning false stops further delivery
  // (the sink is full or closed and will stop the feed).
  std::function<bool(std::span<const event> events)> on_events;
  // The feed ended on its own, once; `detail` says why in words.
  std::function<void(feed_failure why, const std::string& detail)> on_failed;
};

class event_feed : public std::enable_shared_from_this<event_feed> {
public:
  event_feed(event_feed_context context, std::string pattern,
             std::optional<uint64_t> resume_after, event_feed_sink sink);
  event_feed(const event_feed&) = delete;
  event_feed& operator=(const event_feed&) = delete;

  // Subscribes; the sink hears the outcome. Call once.
  void start();
  // Ends the subscription and releases the sink. Idempotent, any thread.
  void stop();

  const std::string& pattern() const { return pattern_; }

private:
  void on_subscribed(subscriber_id id);
  void read_history(uint64_t after);
  void on_page(uint64_t after, const history_page& page);
  void on_live(const event& e);
  void on_dropped();
  // With the lock held:
  void go_live();
  void deliver(std::span<const event> events);
  void fail(feed_failure why, const std::string& detail);
  template <class Fn> void locked(Fn fn);

  const event_feed_context ctx_;
  const std::string pattern_;
  const std::optional<uint64_t> resume_after_;
  std::recursive_mutex mutex_;  // guards the members below; sink callbacks may re-enter
  event_feed_sink sink_;
  int sink_calls_ = 0;          // sink callbacks running (re-entrant stop() keeps the sink)
  subscriber_id id_ = 0;
  std::vector<event> early_;    // live events that arrived before the replay ended
  uint64_t last_seq_;
  bool live_ = false;
  bool delivering_ = true;
  bool failed_ = false;
  bool stopped_ = false;
};

} // namespace evmesh
