// See bridge.hpp. The connection and the feeds call back on other threads;
// they only hold the actor weakly and send it messages tagged with their
// generation, so news from a connection or feed generation that was
// replaced is dropped.
#include "actors/bridge.hpp"

#include "actors/publisher.hpp"
#include "model/envelope.hpp"
#include "model/event_json.hpp"
#include "base/url_target.hpp"
#include "base/log_line.hpp"

#include <evmesh/topic.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <deque>
#include <random>

namespace evmesh {
namespace {

using namespace std::chrono_literals;

constexpr auto report_interval = 100ms;
constexpr auto feed_retry_delay = 1s;

// Sends to an actor that may be gone (then nothing happens).
template <class... Ts>
void tell(const caf::weak_actor_ptr& to, Ts&&... xs) {
  if (auto strong = caf::actor_cast<caf::actor>(to.lock()))
    caf::anon_send(strong, std::forward<Ts>(xs)...);
}

enum class feed_mode {
  running,
  paused_full,    // the queue was full: restart once it has drained to half
  paused_failed,  // a feed ended: restart after feed_retry_delay
};

// A user-declared constructor keeps C++20 from treating the state as an
// aggregate that CAF would try to build from the actor pointer.
struct bridge_state {
  bridge_state() = default;
  ~bridge_state() {
    if (conn)
      conn->close();
    for (auto& f : feeds)
      f->stop();
  }
  bridge_setup setup;
  std::string server;  // scheme://host:port, what logs may say
  bridge_status status;
  caf::weak_actor_ptr weak_self;
  std::mt19937_64 random{std::random_device{}()};
  // the connection
  ws_client::connection_ptr conn;
  uint64_t generation = 0;
  int64_t opened_us = 0;  // 0: not open
  unsigned failures = 0;  // since the last stable connection
  bool report_scheduled = false;
  int64_t reported_us = 0;
  // inbound
  std::size_t pending_publishes = 0;
  // outbound
  std::vector<uint64_t> cursors;  // per pattern: the last seq queued
  std::vector<std::shared_ptr<event_feed>> feeds;
  uint64_t feed_generation = 0;
  feed_mode mode = feed_mode::running;
  std::deque<std::string> queue;      // waiting for the connection
  std::deque<std::string> unwritten;  // handed to the connection, not yet written
  static inline const char* name = "evmesh.bridge";

  bool inbound() const { return setup.config.direction == bridge_direction::inbound; }
  bool open() const { return opened_us != 0; }
  void log(const std::string& what) const {
    log_line() << "evmesh: bridge " << setup.config.id << " (" << to_string(setup.config.direction) << ", "
               << server << "): " << what;
  }
};

using bridge_pointer = caf::stateful_actor<bridge_state>*;

std::string loggable_server(const std::string& url) {
  std::string error;
  auto t = parse_url_target(url, url_family::websocket, error);
  return error.empty() ? (t.tls ? "wss://" : "ws://") + t.host_header() : "an invalid URL";
}

void report(bridge_pointer self, bool now = false) {
  auto& st = self->state;
  st.status.queued = st.queue.size() + st.unwritten.size();
  auto t = now_us();
  if (now || t - st.reported_us >= std::chrono::duration_cast<std::chrono::microseconds>(report_interval).count()) {
    st.reported_us = t;
    self->send(st.setup.manager, br_status_atom::value, st.status);
  } else if (!st.report_scheduled) {
    st.report_scheduled = true;
    self->delayed_send(self, report_interval, br_status_atom::value);
  }
}

void note_error(bridge_pointer self, const std::string& what) {
  auto& st = self->state;
  ++st.status.errors;
  st.status.last_error = what;
  st.status.last_error_us = now_us();
  st.log(what);
}

void connect(bridge_pointer self) {
  auto& st = self->state;
  auto gen = ++st.generation;
  st.status.state = "connecting";
  report(self, true);
  auto weak = st.weak_self;
  ws_client::callbacks events;
  events.on_open = [weak, gen] { tell(weak, br_open_atom::value, gen); };
  events.on_message = [weak, gen](std::string message, bool binary) {
    tell(weak, br_message_atom::value, gen, std::move(message), binary);
  };
  events.on_sent = [weak, gen] { tell(weak, br_sent_atom::value, gen); };
  events.on_closed = [weak, gen](std::string why) { tell(weak, br_closed_atom::value, gen, std::move(why)); };
  std::vector<std::pair<std::string, std::string>> headers(st.setup.config.headers.begin(),
                                                           st.setup.config.headers.end());
  st.conn = st.setup.connections->open(st.setup.config.url, std::move(headers), std::move(events));
}

// Hands queued messages to the open connection, up to the window; restarts
// paused feeds once the queue has drained to half.
void pump(bridge_pointer self);

void stop_feeds(bridge_pointer self, feed_mode mode) {
  auto& st = self->state;
  for (auto& f : st.feeds)
    f->stop();
  st.feeds.clear();
  ++st.feed_generation;
  st.mode = mode;
}

void start_feeds(bridge_pointer self) {
  auto& st = self->state;
  auto fg = ++st.feed_generation;
  st.mode = feed_mode::running;
  auto weak = st.weak_self;
  for (std::size_t i = 0; i < st.setup.config.topics.size(); ++i) {
    event_feed_sink sink;
    sink.on_events = [weak, fg, index = static_cast<uint64_t>(i)](std::span<const event> events) {
      tell(weak, br_events_atom::value, fg, index, std::vector<event>(events.begin(), events.end()));
      return true;
    };
    sink.on_failed = [weak, fg](feed_failure, const std::string& detail) {
      tell(weak, br_feedend_atom::value, fg, detail);
    };
    auto feed = std::make_shared<event_feed>(st.setup.feeds, st.setup.config.topics[i], st.cursors[i], std::move(sink));
    st.feeds.push_back(feed);
    feed->start();
  }
}

void pump(bridge_pointer self) {
  auto& st = self->state;
  while (st.open() && st.unwritten.size() < st.setup.limits.outbound_window && !st.queue.empty()) {
    st.conn->send(st.queue.front());
    st.unwritten.push_back(std::move(st.queue.front()));
    st.queue.pop_front();
  }
  if (st.mode == feed_mode::paused_full && st.queue.size() <= st.setup.limits.outbound_queue / 2) {
    ++st.status.resumes;
    st.log("catching up from retained history");
    start_feeds(self);
  }
}

void on_events(bridge_pointer self, std::size_t index, const std::vector<event>& events) {
  auto& st = self->state;
  const auto& patterns = st.setup.config.topics;
  for (const auto& e : events) {
    if (e.seq <= st.cursors[index])
      continue;
    if (st.queue.size() >= st.setup.limits.outbound_queue) {
      st.log("the server is slow or gone: " + std::to_string(st.queue.size()) +
             " events queued; pausing, resuming from retained history");
      stop_feeds(self, feed_mode::paused_full);
      break;
    }
    st.cursors[index] = e.seq;
    // An event matching an earlier pattern too is that pattern's to send.
    if (std::any_of(patterns.begin(), patterns.begin() + static_cast<std::ptrdiff_t>(index),
                    [&](const std::string& p) { return topic_matches(p, e.topic); }))
      continue;
    st.queue.push_back(render_event_message(e));
  }
  pump(self);
  report(self);
}

// Publishes one message from the server on the bridge's topic.
void publish_inbound(bridge_pointer self, std::string message, bool binary) {
  auto& st = self->state;
  event draft;
  draft.topic = st.setup.config.topic;
  draft.binary = binary;
  draft.data = message;
  if (!binary && !normalize_json_data(draft.data).ok())
    draft.data = nlohmann::json(message).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (auto verdict = check_envelope(draft); !verdict.ok()) {
    note_error(self, "a message was not published: " + verdict.message);
    if (st.conn)
      st.conn->grant(1);
    return;
  }
  ++st.pending_publishes;
  std::vector<event> batch;
  batch.push_back(std::move(draft));
  auto weak = st.weak_self;
  self->send(st.setup.publisher, publish_atom::value, std::move(batch), publish_callback{[weak](publish_reply reply) {
               tell(weak, br_published_atom::value, reply.error);
             }});
}

std::chrono::milliseconds next_backoff(bridge_pointer self) {
  auto& st = self->state;
  const auto& limits = st.setup.limits;
  auto delay = limits.backoff_min;
  for (unsigned i = 0; i < st.failures && delay < limits.backoff_max; ++i)
    delay *= 2;
  delay = std::min(delay, limits.backoff_max);
  ++st.failures;
  std::uniform_real_distribution<double> jitter{0.8, 1.2};
  return std::chrono::milliseconds{static_cast<int64_t>(static_cast<double>(delay.count()) * jitter(st.random))};
}

void on_closed(bridge_pointer self, const std::string& why) {
  auto& st = self->state;
  st.conn.reset();
  bool was_open = st.open();
  auto up_us = was_open ? now_us() - st.opened_us : 0;
  st.opened_us = 0;
  note_error(self, (was_open ? "disconnected: " : "cannot connect: ") + why);
  if (was_open && up_us >= std::chrono::duration_cast<std::chrono::microseconds>(st.setup.limits.stable_after).count())
    st.failures = 0;
  st.queue.insert(st.queue.begin(), std::make_move_iterator(st.unwritten.begin()),
                  std::make_move_iterator(st.unwritten.end()));
  st.unwritten.clear();
  auto delay = next_backoff(self);
  st.status.state = "backing_off";
  st.status.next_attempt_us = now_us() + std::chrono::duration_cast<std::chrono::microseconds>(delay).count();
  self->delayed_send(self, delay, br_retry_atom::value, st.generation);
  report(self, true);
}

// Takes the definition and starts: outbound feeds at the log's end, the
// first connection.
void start(bridge_pointer self, bridge_setup setup) {
  auto& st = self->state;
  st.setup = std::move(setup);
  st.server = loggable_server(st.setup.config.url);
  st.status.id = st.setup.config.id;
  st.weak_self = caf::actor_cast<caf::weak_actor_ptr>(caf::actor_cast<caf::strong_actor_ptr>(self));
  if (!st.inbound()) {
    // Forward what is published from now on: the feeds start at the log's end.
    st.cursors.assign(st.setup.config.topics.size(), 0);
    self->request(st.setup.writer, caf::infinite, stats_atom::value)
      .then(
        [self](const store_stats& stats) {
          std::fill(self->state.cursors.begin(), self->state.cursors.end(), stats.last_seq);
          start_feeds(self);
        },
        [self](caf::error& err) { self->quit(err); });
  }
  connect(self);
}

caf::behavior bridge(bridge_pointer self, bridge_setup setup) {
  start(self, std::move(setup));
  return {
    [self](br_open_atom, uint64_t gen) {
      auto& st = self->state;
      if (gen != st.generation || !st.conn)
        return;
      st.opened_us = now_us();
      st.status.state = "connected";
      st.status.last_connected_us = st.opened_us;
      ++st.status.connects;
      st.log("connected");
      if (st.inbound()) {
        for (const auto& message : st.setup.config.subscribe)
          st.conn->send(message);
        st.conn->grant(st.setup.limits.inbound_window - std::min(st.pending_publishes, st.setup.limits.inbound_window));
      } else {
        st.conn->grant(st.setup.limits.inbound_window);  // what the server says is read and dropped
        pump(self);
      }
      report(self, true);
    },
    [self](br_message_atom, uint64_t gen, std::string& message, bool binary) {
      auto& st = self->state;
      if (gen != st.generation || !st.conn)
        return;
      ++st.status.messages_in;
      if (st.inbound())
        publish_inbound(self, std::move(message), binary);
      else
        st.conn->grant(1);
      report(self);
    },
    [self](br_sent_atom, uint64_t gen) {
      auto& st = self->state;
      if (gen != st.generation)
        return;
      ++st.status.messages_out;
      if (!st.inbound() && !st.unwritten.empty()) {
        st.unwritten.pop_front();
        pump(self);
      }
      report(self);
    },
    [self](br_closed_atom, uint64_t gen, const std::string& why) {
      if (gen == self->state.generation)
        on_closed(self, why);
    },
    [self](br_retry_atom, uint64_t gen) {
      if (gen == self->state.generation && !self->state.conn)
        connect(self);
    },
    [self](br_published_atom, const std::string& error) {
      auto& st = self->state;
      --st.pending_publishes;
      if (error.empty())
        ++st.status.published;
      else
        note_error(self, "publishing failed: " + error);
      if (st.open())
        st.conn->grant(1);
      report(self);
    },
    [self](br_events_atom, uint64_t fg, uint64_t index, const std::vector<event>& events) {
      if (fg == self->state.feed_generation)
        on_events(self, index, events);
    },
    [self](br_feedend_atom, uint64_t fg, const std::string& why) {
      auto& st = self->state;
      if (fg != st.feed_generation)
        return;
      note_error(self, "event feed ended: " + why);
      stop_feeds(self, feed_mode::paused_failed);
      self->delayed_send(self, feed_retry_delay, br_resume_atom::value, st.feed_generation);
      report(self, true);
    },
    [self](br_resume_atom, uint64_t fg) {
      auto& st = self->state;
      if (fg == st.feed_generation && st.mode == feed_mode::paused_failed) {
        ++st.status.resumes;
        start_feeds(self);
      }
    },
    [self](br_status_atom) {
      self->state.report_scheduled = false;
      report(self, true);
    },
  };
}

} // namespace

caf::actor spawn_bridge(caf::actor_system& sys, bridge_setup setup) { return sys.spawn(bridge, std::move(setup)); }

} // namespace evmesh
