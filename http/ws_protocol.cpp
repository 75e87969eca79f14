// See ws_protocol.hpp. One `client` per connection. Its state is touched
// from the connection's strand (messages, the end) and from actor threads
// (feed callbacks, publish acks), so it sits behind a mutex; a feed is never
// stopped while that mutex is held (the feed's own lock is taken first when
// a feed calls back in, so the other order would deadlock).
#include "http/ws_protocol.hpp"

#include "model/event_json.hpp"
#include "http/publish_request.hpp"

#include <evmesh/topic.hpp>

#include <nlohmann/json.hpp>

#include <array>
#include <map>
#include <mutex>

namespace evmesh {
namespace {

using json = nlohmann::json;
using message_json = nlohmann::ordered_json;  // "op" first, as the protocol is written

// Bounds on what one connection may ask of the node.
constexpr std::size_t max_subscriptions = 256;
constexpr std::size_t max_publishes_in_flight = 256;  // reading pauses at this many

// Close code for a client that does not keep up (RFC 6455 "try again later").
constexpr uint16_t close_try_again_later = 1013;

// Each event's message is rendered (and framed) once and shared by every
// connection that sends it. Entries are picked by seq; an entry keeps small messages (so the
// connections served after the first writes still find them) and only
// refers weakly to big ones (alive while some queue holds them).
class event_message_cache {
public:
  ws::frame message(const event& e) {
    auto& entry = entries_[e.seq % entries_.size()];
    std::lock_guard lock{entry.mutex};
    if (entry.seq == e.seq) {
      if (entry.kept)
        return entry.kept;
      if (auto alive = entry.shared.lock())
        return alive;
    }
    auto text = ws::make_text_frame(render_event_message(e));
    entry.seq = e.seq;
    entry.kept = text->size() <= max_kept_bytes ? text : nullptr;
    entry.shared = text;
    return text;
  }

private:
  static constexpr std::size_t max_kept_bytes = 64 * 1024;

  struct cache_entry {
    std::mutex mutex;
    uint64_t seq = 0;
    ws::frame kept;
    std::weak_ptr<const std::string> shared;
  };
  std::array<cache_entry, 256> entries_;
};

} // namespace

struct ws_endpoint_state {
  explicit ws_endpoint_state(ws_context context) : ctx(std::move(context)) {}
  const ws_context ctx;
  event_message_cache messages;
};

namespace {

// The protocol on one connection.
class client : public std::enable_shared_from_this<client> {
public:
  client(std::shared_ptr<ws_endpoint_state> endpoint, scope_list scopes,
         std::shared_ptr<ws::connection> conn)
      : endpoint_(std::move(endpoint)), scopes_(std::move(scopes)), conn_(std::move(conn)) {}

  void on_message(std::string text, bool binary) {
    probe().ws_messages_received.fetch_add(1, std::memory_order_relaxed);
    if (binary)
      return error(400, "binary messages are not accepted: send JSON text", {});
    auto msg = json::parse(text, nullptr, false);
    if (msg.is_discarded())
      return error(400, "the message is not valid JSON", {});
    if (!msg.is_object())
      return error(400, "a message must be a JSON object with an \"op\"", {});
    auto op = msg.find("op");
    if (op == msg.end() || !op->is_string())
      return error(400, "\"op\" is required: subscribe, unsubscribe, publish or ping", {});
    const auto& name = op->get_ref<const std::string&>();
    if (name == "subscribe")
      return subscribe(msg);
    if (name == "unsubscribe")
      return unsubscribe(msg);
    if (name == "publish")
      return publish(msg);
    if (name == "ping")
      return send(message_json{{"op", "pong"}});
    error(400, "unknown op \"" + name + "\": expected subscribe, unsubscribe, publish or ping", {});
  }

  void on_end(ws::end_reason why) {
    std::map<std::string, subscription> ended;
    {
      std::lock_guard lock{mutex_};
      ended_ = true;
      ended.swap(subscriptions_);
    }
    for (auto& [pattern, sub] : ended)
      sub.feed->stop();
    probe().ws_connections.fetch_sub(1, std::memory_order_relaxed);
    if (why == ws::end_reason::too_slow || slow_)
      probe().ws_closed_slow.fetch_add(1, std::memory_order_relaxed);
  }

private:
  struct subscription {
    uint64_t number = 0;  // tells a resubscription from the one it replaced
    std::shared_ptr<event_feed> feed;
  };

  http_probe& probe() const { return *endpoint_->ctx.probe; }

  void send(const message_json& message) { conn_->send(message.dump()); }

  // `context` adds "topic" or "id" so the client can tell which request failed.
  void error(int code, const std::string& message, const json& context) {
    probe().ws_errors.fetch_add(1, std::memory_order_relaxed);
    if (code == 403)
      probe().auth_failures.fetch_add(1, std::memory_order_relaxed);
    message_json out{{"op", "error"}, {"code", code}, {"message", message}};
    if (context.is_object())
      for (const auto& [key, value] : context.items())
        out[key] = value;
    send(out);
  }

  // The "topic" member as a valid pattern, or nullopt after answering.
  std::optional<std::string> read_pattern(const json& msg) {
    auto topic = msg.find("topic");
    if (topic == msg.end() || !topic->is_string()) {
      error(400, "\"topic\" is required: a topic pattern such as orders.*", {});
      return std::nullopt;
    }
    auto pattern = topic->get<std::string>();
    if (auto why = check_pattern(pattern); !why.empty()) {
      error(400, why, {{"topic", pattern}});
      return std::nullopt;
    }
    return pattern;
  }

  void subscribe(const json& msg) {
    auto pattern = read_pattern(msg);
    if (!pattern)
      return;
    json context{{"topic", *pattern}};
    if (!may_subscribe(scopes_, *pattern))
      return error(403, "the token may not subscribe to \"" + *pattern + "\"", context);
    std::optional<uint64_t> since;
    if (auto it = msg.find("since"); it != msg.end() && !it->is_null()) {
      if (!it->is_number_unsigned())
        return error(400, "\"since\" must be a non-negative integer (a seq)", context);
      since = it->get<uint64_t>();
    }
    std::shared_ptr<event_feed> feed;
    {
      std::lock_guard lock{mutex_};
      if (ended_)
        return;
      if (subscriptions_.count(*pattern))
        return error(409, "already subscribed to \"" + *pattern + "\"", context);
      if (subscriptions_.size() >= max_subscriptions)
        return error(429, "at most " + std::to_string(max_subscriptions) +
                            " subscriptions per connection", context);
      auto number = next_subscription_++;
      feed = std::make_shared<event_feed>(endpoint_->ctx.feed, *pattern, since,
                                          make_sink(number, *pattern));
      subscriptions_[*pattern] = subscription{number, feed};
    }
    feed->start();
  }

  event_feed_sink make_sink(uint64_t number, const std::string& pattern) {
    auto self = shared_from_this();
    event_feed_sink sink;
    sink.on_open = [self, pattern] { self->send(message_json{{"op", "subscribed"}, {"topic", pattern}}); };
    sink.on_events = [self](std::span<const event> events) {
      for (const auto& e : events)
        if (!self->conn_->send(self->endpoint_->messages.message(e)))
          return false;
      return true;
    };
    sink.on_failed = [self, number, pattern](feed_failure why, const std::string& detail) {
      self->subscription_failed(number, pattern, why, detail);
    };
    return sink;
  }

  void subscription_failed(uint64_t number, const std::string& pattern, feed_failure why,
                           const std::string& detail) {
    if (why == feed_failure::fell_behind) {  // the client does not keep up
      slow_ = true;
      conn_->close(close_try_again_later, "subscription " + pattern + " " + detail);
      return;  // on_end stops every feed
    }
    std::shared_ptr<event_feed> feed;
    {
      std::lock_guard lock{mutex_};
      auto it = subscriptions_.find(pattern);
      if (it != subscriptions_.end() && it->second.number == number) {
        feed = std::move(it->second.feed);
        subscriptions_.erase(it);
      }
    }
    error(503,
          (why == feed_failure::subscribe_failed ? "subscribe failed: " : "replay failed: ") + detail,
          {{"topic", pattern}});
    if (feed)
      feed->stop();
  }

  // After the answer no event of this subscription follows: stop() waits for
  // a delivery in progress, and the answer is queued after it.
  void unsubscribe(const json& msg) {
    auto pattern = read_pattern(msg);
    if (!pattern)
      return;
    std::shared_ptr<event_feed> feed;
    {
      std::lock_guard lock{mutex_};
      auto it = subscriptions_.find(*pattern);
      if (it != subscriptions_.end()) {
        feed = std::move(it->second.feed);
        subscriptions_.erase(it);
      }
    }
    if (!feed)
      return error(404, "not subscribed to \"" + *pattern + "\"", {{"topic", *pattern}});
    feed->stop();
    send(message_json{{"op", "unsubscribed"}, {"topic", *pattern}});
  }

  void publish(const json& msg) {
    event draft;
    if (auto why = read_event_object(msg, draft); !why.empty()) {
      endpoint_->ctx.publishing->events_rejected.fetch_add(1, std::memory_order_relaxed);
      json context = json::object();
      if (auto id = msg.find("id"); id != msg.end() && id->is_string())
        context["id"] = *id;
      return error(400, why, context);
    }
    if (!may_publish(scopes_, draft.topic)) {
      json context{{"topic", draft.topic}};
      if (!draft.id.empty())
        context["id"] = draft.id;
      return error(403, "the token may not publish to \"" + draft.topic + "\"", context);
    }
    {
      std::lock_guard lock{mutex_};
      if (++publishes_in_flight_ >= max_publishes_in_flight && !reading_paused_) {
        reading_paused_ = true;
        conn_->pause_reading();
      }
    }
    auto id = draft.id;
    std::vector<event> batch;
    batch.push_back(std::move(draft));
    caf::anon_send(endpoint_->ctx.publisher, publish_atom::value, std::move(batch),
                   publish_callback{[self = shared_from_this(), id](publish_reply reply) {
                     self->published(id, reply);
                   }});
  }

  void published(const std::string& id, const publish_reply& reply) {
    if (!reply.error.empty()) {
      json context = json::object();
      if (!id.empty())
        context["id"] = id;
      error(503, "the event was not stored: " + reply.error, context);
    } else {
      const auto& ack = reply.acks.front();
      message_json out{{"op", "ack"}, {"id", ack.id}, {"seq", ack.seq}};
      if (ack.duplicate)
        out["duplicate"] = true;
      send(out);
    }
    bool resume = false;
    {
      std::lock_guard lock{mutex_};
      --publishes_in_flight_;
      if (reading_paused_ && publishes_in_flight_ <= max_publishes_in_flight / 2) {
        reading_paused_ = false;
        resume = true;
      }
    }
    if (resume)
      conn_->resume_reading();
  }

  const std::shared_ptr<ws_endpoint_state> endpoint_;
  const scope_list scopes_;
  const std::shared_ptr<ws::connection> conn_;
  std::atomic<bool> slow_{false};
  std::mutex mutex_;  // guards the members below
  std::map<std::string, subscription> subscriptions_;  // by pattern
  uint64_t next_subscription_ = 1;
  std::size_t publishes_in_flight_ = 0;
  bool reading_paused_ = false;
  bool ended_ = false;
};

} // namespace

ws_endpoint::ws_endpoint(ws_context context)
    : state_(std::make_shared<ws_endpoint_state>(std::move(context))) {}

ws_endpoint::~ws_endpoint() = default;

void ws_endpoint::serve(http::request req, const http::responder& respond, scope_list scopes) {
  auto endpoint = state_;
  respond.take_over(std::move(req), [endpoint, scopes](http::connection_handover handover) {
    return ws::run_session(
      std::move(handover), endpoint->ctx.transport, [&](std::shared_ptr<ws::connection> conn) {
        auto c = std::make_shared<client>(endpoint, scopes, std::move(conn));
        auto* probe = endpoint->ctx.probe;
        probe->ws_connections.fetch_add(1, std::memory_order_relaxed);
        ws::handlers handlers;
        handlers.on_message = [c](std::string text, bool binary) {
          c->on_message(std::move(text), binary);
        };
        handlers.on_written = [probe](std::size_t messages) {
          probe->ws_messages_sent.fetch_add(messages, std::memory_order_relaxed);
        };
        handlers.on_end = [c](ws::end_reason why) { c->on_end(why); };
        return handlers;
      });
  });
}

} // namespace evmesh
