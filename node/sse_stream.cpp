// See sse_stream.hpp. Ordering: the subscription exists before history is
// read, so every event is either in the history read afterwards or delivered
// live (or both); live events wait in `early_` until the replay is done, and
// `last_seq_` drops the ones the history already sent.
#include "node/sse_stream.hpp"

#include "actors/gateway.hpp"
#include "node/event_json.hpp"
#include "transports/problem.hpp"

#include <mutex>

namespace evmesh {
namespace {

namespace bhttp = boost::beast::http;

constexpr auto actor_timeout = std::chrono::seconds{30};
constexpr std::size_t history_page_events = 1000;
constexpr const char* heartbeat_frame = ": heartbeat\n\n";

// One SSE frame: `id: SEQ\nevent: TOPIC\ndata: JSON\n\n` (render_event
// writes one line: JSON strings escape their newlines).
std::string sse_frame(const event& e) {
  return "id: " + std::to_string(e.seq) + "\nevent: " + e.topic + "\ndata: " + render_event(e) +
         "\n\n";
}

class sse_stream : public std::enable_shared_from_this<sse_stream> {
public:
  sse_stream(sse_context ctx, sse_request req, http::responder respond)
      : ctx_(std::move(ctx)), req_(std::move(req)), respond_(std::move(respond)),
        last_seq_(req_.resume_after.value_or(0)) {}

  void subscribe() {
    subscriber_target target;
    auto self = shared_from_this();
    target.on_event = [self](const event& e) { self->on_live(e); };
    target.on_close = [self](const std::string&) { self->on_dropped(); };
    uint64_t limit = ctx_.queue_limit;
    run_in_gateway(ctx_.gateway, [self, target, limit](caf::event_based_actor* gw) {
      gw->request(self->ctx_.controller, actor_timeout, subscribe_atom::value, self->req_.pattern,
                  target, limit)
        .then([self](subscriber_id id) { self->open(id); },
              [self](caf::error& err) {
                self->respond_(http::make_problem(bhttp::status::service_unavailable,
                                                  "subscribe: " + caf::to_string(err),
                                                  self->req_.version, false));
              });
    });
  }

private:
  // Subscribed: send the head, then replay (if resuming) and go live.
  void open(subscriber_id id) {
    {
      std::lock_guard lock{mutex_};
      id_ = id;
    }
    ctx_.probe->sse_streams.fetch_add(1, std::memory_order_relaxed);
    http::response head{bhttp::status::ok, req_.version};
    head.set(bhttp::field::content_type, "text/event-stream");
    head.set(bhttp::field::cache_control, "no-cache");
    head.set("X-Accel-Buffering", "no");
    head.set(bhttp::field::connection, "keep-alive");
    http::stream_options options;
    options.max_queued_chunks = ctx_.queue_limit;
    options.keepalive_interval = ctx_.heartbeat;
    options.keepalive_chunk = heartbeat_frame;
    options.on_end = [self = shared_from_this()](http::stream_end why) { self->on_end(why); };
    auto writer = respond_.stream(std::move(head), std::move(options));
    if (!writer)  // cannot happen with the node's server: every responder streams
      return on_end(http::stream_end::closed);
    {
      std::lock_guard lock{mutex_};
      writer_ = writer;
      if (ended_) {  // dropped, or the server stopped, before the head went out
        writer_->close();
        return;
      }
    }
    if (req_.resume_after)
      read_history(*req_.resume_after);
    else
      go_live();
  }

  void read_history(uint64_t after) {
    auto self = shared_from_this();
    history_query q{req_.pattern, after, history_page_events};
    run_in_gateway(ctx_.gateway, [self, q](caf::event_based_actor* gw) {
      gw->request(self->ctx_.reader, actor_timeout, history_atom::value, q)
        .then([self, after = q.after_seq](const history_page& page) { self->on_page(after, page); },
              [self](caf::error&) { self->close(); });
    });
  }

  void on_page(uint64_t after, const history_page& page) {
    if (!page.error.empty())
      return close();
    std::string chunk;
    for (const auto& e : page.events)
      chunk += sse_frame(e);
    {
      std::lock_guard lock{mutex_};
      if (ended_)
        return;
      if (!page.events.empty())
        last_seq_ = page.events.back().seq;
      if (!writer_->write(std::move(chunk)))
        return;
    }
    if (page.next_after == after)
      go_live();
    else
      read_history(page.next_after);
  }

  // History is done: what arrived live meanwhile follows, minus what the
  // history already had; later events are written as they come.
  void go_live() {
    std::lock_guard lock{mutex_};
    if (ended_)
      return;
    std::string chunk;
    for (const auto& e : early_)
      if (e.seq > last_seq_) {
        chunk += sse_frame(e);
        last_seq_ = e.seq;
      }
    early_.clear();
    live_ = true;
    writer_->write(std::move(chunk));
  }

  void on_live(const event& e) {
    std::lock_guard lock{mutex_};
    if (ended_)
      return;
    if (!live_) {
      early_.push_back(e);
      if (early_.size() > ctx_.queue_limit)
        fell_behind();
      return;
    }
    if (e.seq <= last_seq_)
      return;
    last_seq_ = e.seq;
    writer_->write(sse_frame(e));
  }

  // The router dropped the subscriber for lagging past its queue limit.
  void on_dropped() {
    std::lock_guard lock{mutex_};
    fell_behind();
  }

  // Call with the lock held.
  void fell_behind() {
    slow_ = true;
    if (writer_)
      writer_->close();
    else
      ended_ = true;
  }

  void close() {
    std::lock_guard lock{mutex_};
    if (writer_)
      writer_->close();
  }

  // The connection ended (the session calls this once, whatever the reason):
  // count it and end the subscription.
  void on_end(http::stream_end why) {
    subscriber_id id = 0;
    {
      std::lock_guard lock{mutex_};
      ended_ = true;
      early_.clear();
      id = id_;
      if (why == http::stream_end::overflow || slow_)
        ctx_.probe->sse_closed_slow.fetch_add(1, std::memory_order_relaxed);
    }
    ctx_.probe->sse_streams.fetch_sub(1, std::memory_order_relaxed);
    caf::anon_send(ctx_.controller, unsub_atom::value, id);
  }

  const sse_context ctx_;
  const sse_request req_;
  http::responder respond_;
  std::mutex mutex_;  // guards the members below
  std::shared_ptr<http::stream_writer> writer_;
  subscriber_id id_ = 0;
  std::vector<event> early_;  // live events that arrived before the replay ended
  uint64_t last_seq_;
  bool live_ = false;
  bool ended_ = false;
  bool slow_ = false;
};

} // namespace

void start_sse(sse_context context, sse_request request, http::responder respond) {
  std::make_shared<sse_stream>(std::move(context), std::move(request), std::move(respond))
    ->subscribe();
}

} // namespace evmesh
