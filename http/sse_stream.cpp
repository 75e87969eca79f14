// See sse_stream.hpp. The ordering (replay, then live, each seq once) is
// the event_feed's; this file adds the HTTP stream and the SSE framing.
#include "http/sse_stream.hpp"

#include "model/event_json.hpp"
#include "transports/problem.hpp"

#include <atomic>

namespace evmesh {
namespace {

namespace bhttp = boost::beast::http;

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
      : ctx_(std::move(ctx)), req_(std::move(req)), respond_(std::move(respond)) {}

  void start() {
    auto self = shared_from_this();
    event_feed_sink sink;
    sink.on_open = [self] { self->open(); };
    sink.on_events = [self](std::span<const event> events) { return self->write(events); };
    sink.on_failed = [self](feed_failure why, const std::string& detail) { self->failed(why, detail); };
    feed_ = std::make_shared<event_feed>(ctx_.feed, req_.pattern, req_.resume_after, std::move(sink));
    feed_->start();
  }

private:
  // The feed's callbacks (open, write, failed) run one at a time; writer_
  // is only touched there.

  // Subscribed: send the head; the replay (if resuming) and live events follow.
  void open() {
    ctx_.probe->sse_streams.fetch_add(1, std::memory_order_relaxed);
    http::response head{bhttp::status::ok, req_.version};
    head.set(bhttp::field::content_type, "text/event-stream");
    head.set(bhttp::field::cache_control, "no-cache");
    head.set("X-Accel-Buffering", "no");
    head.set(bhttp::field::connection, "keep-alive");
    http::stream_options options;
    options.max_queued_chunks = ctx_.feed.queue_limit;
    options.keepalive_interval = ctx_.heartbeat;
    options.keepalive_chunk = heartbeat_frame;
    options.on_end = [self = shared_from_this()](http::stream_end why) { self->on_end(why); };
    writer_ = respond_.stream(std::move(head), std::move(options));
    if (!writer_)  // cannot happen with the node's server: every responder streams
      on_end(http::stream_end::closed);
  }

  bool write(std::span<const event> events) {
    if (!writer_)
      return false;
    std::string chunk;
    for (const auto& e : events)
      chunk += sse_frame(e);
    return writer_->write(std::move(chunk));
  }

  void failed(feed_failure why, const std::string& detail) {
    if (!writer_) {  // nothing was sent yet
      respond_(http::make_problem(bhttp::status::service_unavailable, "subscribe: " + detail,
                                  req_.version, false));
      feed_->stop();
      return;
    }
    if (why == feed_failure::fell_behind)
      slow_ = true;
    if (writer_)
      writer_->close();  // on_end follows
  }

  // The connection ended (the session calls this once, whatever the reason):
  // count it and end the subscription.
  void on_end(http::stream_end why) {
    if (why == http::stream_end::overflow || slow_)
      ctx_.probe->sse_closed_slow.fetch_add(1, std::memory_order_relaxed);
    ctx_.probe->sse_streams.fetch_sub(1, std::memory_order_relaxed);
    feed_->stop();
  }

  const sse_context ctx_;
  const sse_request req_;
  http::responder respond_;
  std::shared_ptr<event_feed> feed_;  // set before the feed starts
  std::shared_ptr<http::stream_writer> writer_;
  std::atomic<bool> slow_{false};     // the feed fell behind (read by on_end on the strand)
};

} // namespace

void start_sse(sse_context context, sse_request request, http::responder respond) {
  std::make_shared<sse_stream>(std::move(context), std::move(request), std::move(respond))
    ->start();
}

} // namespace evmesh
