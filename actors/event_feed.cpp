// See event_feed.hpp. The subscriber callbacks and the gateway replies hold
// the feed; the feed holds the sink until it stops, and the sink usually
// holds what holds the feed, so stop() releases the sink to break that cycle
// (outside the lock, and never while one of its callbacks runs).
#include "actors/event_feed.hpp"

#include "actors/gateway.hpp"

namespace evmesh {
namespace {

constexpr auto actor_timeout = std::chrono::seconds{30};
constexpr std::size_t history_page_events = 1000;

} // namespace

event_feed::event_feed(event_feed_context context, std::string pattern,
                       std::optional<uint64_t> resume_after, event_feed_sink sink)
    : ctx_(std::move(context)), pattern_(std::move(pattern)), resume_after_(resume_after),
      sink_(std::move(sink)), last_seq_(resume_after.value_or(0)) {}

// Runs `fn` with the lock held; once the feed has stopped and no sink
// callback is running any more, the sink is released after unlocking.
template <class Fn> void event_feed::locked(Fn fn) {
  event_feed_sink released;
  {
    std::lock_guard lock{mutex_};
    fn();
    if (stopped_ && sink_calls_ == 0)
      released = std::exchange(sink_, {});
  }
}

void event_feed::start() {
  subscriber_target target;
  auto self = shared_from_this();
  target.on_event = [self](const event& e) { self->on_live(e); };
  target.on_close = [self](const std::string&) { self->on_dropped(); };
  auto limit = static_cast<uint64_t>(ctx_.queue_limit);
  run_in_gateway(ctx_.gateway, [self, target, limit](caf::event_based_actor* gw) {
    gw->request(self->ctx_.controller, actor_timeout, subscribe_atom::value, self->pattern_,
                target, limit)
      .then([self](subscriber_id id) { self->on_subscribed(id); },
            [self](caf::error& err) {
              self->locked([&] { self->fail(feed_failure::subscribe_failed, caf::to_string(err)); });
            });
  });
}

void event_feed::stop() {
  auto keep = shared_from_this();  // a released sink may hold the last other reference
  subscriber_id id = 0;
  locked([&] {
    if (std::exchange(stopped_, true))
      return;
    early_.clear();
    id = std::exchange(id_, 0);
  });
  if (id != 0)
    caf::anon_send(ctx_.controller, unsub_atom::value, id);
}

void event_feed::on_subscribed(subscriber_id id) {
  bool replay = false;
  bool unsubscribe = false;
  locked([&] {
    if (stopped_) {  // stopped while subscribing
      unsubscribe = true;
      return;
    }
    id_ = id;
    if (failed_)  // dropped before the answer came; the sink knows
      return;
    ++sink_calls_;
    if (sink_.on_open)
      sink_.on_open();
    --sink_calls_;
    if (stopped_ || failed_)
      return;
    if (resume_after_)
      replay = true;
    else
      go_live();
  });
  if (unsubscribe)
    caf::anon_send(ctx_.controller, unsub_atom::value, id);
  if (replay)
    read_history(*resume_after_);
}

void event_feed::read_history(uint64_t after) {
  auto self = shared_from_this();
  history_query q{pattern_, after, history_page_events};
  run_in_gateway(ctx_.gateway, [self, q](caf::event_based_actor* gw) {
    gw->request(self->ctx_.reader, actor_timeout, history_atom::value, q)
      .then([self, after = q.after_seq](const history_page& page) { self->on_page(after, page); },
            [self](caf::error& err) {
              self->locked([&] { self->fail(feed_failure::history_failed, caf::to_string(err)); });
            });
  });
}

void event_feed::on_page(uint64_t after, const history_page& page) {
  bool more = false;
  locked([&] {
    if (stopped_ || failed_)
      return;
    if (!page.error.empty())
      return fail(feed_failure::history_failed, page.error);
    deliver(page.events);
    if (page.next_after == after)
      go_live();
    else
      more = true;
  });
  if (more)
    read_history(page.next_after);
}

void event_feed::on_live(const event& e) {
  locked([&] {
    if (stopped_ || failed_)
      return;
    if (!live_) {
      early_.push_back(e);
      if (early_.size() > ctx_.queue_limit)
        fail(feed_failure::fell_behind,
             "more than " + std::to_string(ctx_.queue_limit) + " events arrived during the replay");
      return;
    }
    deliver(std::span<const event>(&e, 1));
  });
}

// The router dropped the subscriber for lagging past its queue limit.
void event_feed::on_dropped() {
  locked([&] {
    if (!stopped_)
      fail(feed_failure::fell_behind,
           "fell more than " + std::to_string(ctx_.queue_limit) + " events behind");
  });
}

// History is done: what arrived live meanwhile follows (deliver drops what
// the history already had); later events are delivered as they come.
void event_feed::go_live() {
  live_ = true;
  auto early = std::exchange(early_, {});
  deliver(early);
}

// Delivers the events with a seq above the last one delivered.
void event_feed::deliver(std::span<const event> events) {
  while (!events.empty() && events.front().seq <= last_seq_)
    events = events.subspan(1);
  if (events.empty() || !delivering_ || stopped_)
    return;
  last_seq_ = events.back().seq;
  ++sink_calls_;
  delivering_ = sink_.on_events(events);
  --sink_calls_;
}

void event_feed::fail(feed_failure why, const std::string& detail) {
  if (failed_)
    return;
  failed_ = true;
  early_.clear();
  ++sink_calls_;
  if (sink_.on_failed)
    sink_.on_failed(why, detail);
  --sink_calls_;
}

} // namespace evmesh
