// See peer_link.hpp.
#include "cluster/peer_link.hpp"

#include "cluster/detail/frame.hpp"
#include "cluster/messages.hpp"
#include "cluster/detail/socket_actor.hpp"

#include "model/subscription_trie.hpp"
#include "transports/event_codec.hpp"
#include "base/log_line.hpp"

#include <algorithm>
#include <set>

namespace evmesh::cluster {
namespace {

using clock = std::chrono::steady_clock;

// Rows a store scan examines per step, so one step never blocks the link long.
constexpr std::size_t max_scanned_rows = 50000;
// Work items (frames sent, scans) per loop turn before polling again.
constexpr int pump_steps = 64;

class peer_link final : public socket_actor {
public:
  peer_link(caf::actor_config& cfg, link_setup setup)
      : socket_actor(cfg), setup_(std::move(setup)),
        stream_(setup_.limits, static_cast<uint64_t>(now_us())) {
    report_.addr = setup_.peer_addr;
  }

  const char* name() const override { return "evmesh.cluster.link"; }

protected:
  void start() override {
    socket_ = zmq::socket_t{*setup_.context, zmq::socket_type::dealer};
    socket_.set(zmq::sockopt::routing_id,
                setup_.self_name + "@" + std::to_string(setup_.incarnation));
    socket_.set(zmq::sockopt::linger, 0);
    socket_.set(zmq::sockopt::immediate, 1);  // no queueing towards a peer that is not there
    socket_.set(zmq::sockopt::reconnect_ivl, 100);
    socket_.set(zmq::sockopt::reconnect_ivl_max, 2000);
    socket_.set(zmq::sockopt::sndhwm, 1000);
    socket_.set(zmq::sockopt::rcvhwm, 10000);
    if (setup_.curve)
      make_curve_client(socket_, *setup_.curve);
    socket_.connect("tcp://" + setup_.peer_addr);
    db_ = setup_.open_store();
    auto now = clock::now();
    next_hello_ = next_ping_ = next_report_ = now;
    last_progress_ = now;
    ack_timeout_ = setup_.ack_timeout;
  }

  std::vector<zmq::socket_ref> sockets() override { return {socket_}; }
  bool wants_output(std::size_t) const override { return pending_.has_value(); }

  void on_ready(std::size_t) override {
    std::vector<zmq::message_t> parts;
    bool oversized = false;
    // Bounded per wake-up so mail (events to send) is not starved.
    for (int i = 0; i < 256 && receive_parts(socket_, parts, 2, oversized); ++i)
      on_message(parts);
  }

  bool on_mail() override {
    return drain(
      [&](forward_atom, const std::vector<event_ptr>& events) { stream_.on_live(events); },
      [&](members_atom, std::vector<std::string>& members) { members_ = std::move(members); },
      [&](hello_atom) {
        welcomed_ = false;
        next_hello_ = clock::now();
      });
  }

  std::chrono::milliseconds on_timer() override {
    auto now = clock::now();
    if (!welcomed_ && now >= next_hello_) {
      send_control(hello_frame{setup_.self_name, setup_.self_addr, setup_.incarnation,
                               stream_.epoch()});
      next_hello_ = now + std::chrono::milliseconds{1000};
    }
    if (now >= next_ping_) {
      send_control(ping_frame{setup_.self_name, setup_.self_addr, setup_.incarnation, members_});
      next_ping_ = now + setup_.heartbeat;
    }
    if (stream_.in_flight() > 0 && now - last_progress_ > ack_timeout_) {
      // No ack for too long: frames may have been lost with a connection.
      restart(stream_.acked());
      ack_timeout_ = std::min(ack_timeout_ * 2, std::chrono::milliseconds{30000});
    }
    if (now >= next_report_) {
      report();
      next_report_ = now + setup_.heartbeat;
    }
    bool more = pump();
    if (more)
      return std::chrono::milliseconds{0};
    auto next = std::min({next_ping_, next_report_, welcomed_ ? next_ping_ : next_hello_});
    if (stream_.in_flight() > 0)
      next = std::min(next, last_progress_ + ack_timeout_);
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next - now);
    return std::clamp(wait, std::chrono::milliseconds{1}, std::chrono::milliseconds{1000});
  }

  void finish() override {
    if (!report_.peer.empty())
      anon_send(setup_.router, peer_atom::value, report_.peer, std::vector<std::string>{},
                caf::actor{});
    // Leaving: tell the peer, giving the frame a moment to go out.
    pending_.reset();
    send_control(bye_frame{setup_.self_addr, setup_.incarnation});
    socket_.set(zmq::sockopt::linger, 200);
    socket_.close();
    db_.reset();
  }

private:
  void on_message(std::vector<zmq::message_t>& parts) {
    frame f;
    std::string error;
    auto body = parts.size() == 2 ? parts[1].to_string_view() : std::string_view{};
    if (parts.empty() || !decode(parts[0].to_string_view(), body, f, error)) {
      setup_.probe->frames_refused.fetch_add(1, std::memory_order_relaxed);
      if (refusals_logged_++ < 20)
        log_line() << "evmesh: refused a frame from " << setup_.peer_addr << ": " << error;
      return;
    }
    setup_.probe->frames_received.fetch_add(1, std::memory_order_relaxed);
    std::visit([&](auto& x) { handle(x); }, f);
  }

  void handle(welcome_frame& f) {
    welcomed_ = true;
    report_.peer = f.name;
    report_.connected = true;
    caf::anon_send(setup_.manager, heard_atom::value,
                   member_report{setup_.peer_addr, f.name, f.incarnation, {}});
    interest_version_ = f.interest_version;
    set_interest(std::move(f.patterns));
    restart(f.cursor);
  }

  void handle(ack_frame& f) {
    auto before = stream_.in_flight();
    stream_.on_ack(f);
    report_.acked = stream_.acked();
    if (stream_.in_flight() < before) {
      last_progress_ = clock::now();
      ack_timeout_ = setup_.ack_timeout;
    }
  }

  void handle(nack_frame& f) {
    if (stream_.on_nack(f))
      restarted();
  }

  void handle(interest_frame& f) {
    if (f.version <= interest_version_)
      return;
    interest_version_ = f.version;
    std::set<std::string> before(patterns_.begin(), patterns_.end());
    bool expanded = std::any_of(f.patterns.begin(), f.patterns.end(),
                                [&](const std::string& p) { return !before.count(p); });
    set_interest(std::move(f.patterns));
    // Newly wanted patterns: send what matches them since the peer's cursor.
    if (expanded && stream_.started())
      restart(stream_.acked());
  }

  void handle(rehello_frame&) {
    welcomed_ = false;
    next_hello_ = clock::now();
  }

  template <class Other>
  void handle(Other&) {
    setup_.probe->frames_refused.fetch_add(1, std::memory_order_relaxed);
  }

  void set_interest(std::vector<std::string> patterns) {
    wanted_ = subscription_trie{};
    for (const auto& p : patterns)
      wanted_.insert(p, 1);
    patterns_ = patterns;
    report_.interest = patterns_;
    if (!report_.peer.empty())
      anon_send(setup_.router, peer_atom::value, report_.peer, std::move(patterns),
                caf::actor_cast<caf::actor>(this));
  }

  void restart(uint64_t cursor) {
    stream_.restart(cursor);
    pending_.reset();  // a frame of the old epoch: the peer would ignore it
    restarted();
  }

  void restarted() {
    ++report_.restarts;
    setup_.probe->link_restarts.fetch_add(1, std::memory_order_relaxed);
    last_progress_ = clock::now();
  }

  // Sends ready frames and reads the store while the window has room.
  // Returns true when there is more to do right away.
  bool pump() {
    for (int step = 0; step < pump_steps; ++step) {
      if (pending_ && !flush_pending())
        return false;
      if (auto out = stream_.next_frame()) {
        auto wire = encode(events_frame{out->epoch, out->frame_no, {}});
        wire.body = codec::encode_batch(out->events);
        if (stream_.in_flight() == 1)
          last_progress_ = clock::now();
        ++report_.frames_sent;
        report_.events_sent += out->events.size();
        setup_.probe->events_sent.fetch_add(out->events.size(), std::memory_order_relaxed);
        pending_ = std::move(wire);
        continue;
      }
      if (auto after = stream_.next_scan()) {
        scan(*after);
        continue;
      }
      return false;
    }
    return true;
  }

  void scan(uint64_t after) {
    uint64_t scanned_to = after;
    bool at_end = false;
    std::vector<event> events;
    std::vector<subscriber_id> matched;
    try {
      events = db_->scan_local(
        after, setup_.limits.frame_events,
        [&](std::string_view topic) {
          wanted_.match(topic, matched);
          return !matched.empty();
        },
        max_scanned_rows, scanned_to, at_end);
    } catch (const std::exception& e) {
      log_line() << "evmesh: link to " << setup_.peer_addr << " cannot read the store: " << e.what();
      return;
    }
    stream_.on_scan(std::move(events), scanned_to, at_end);
  }

  bool flush_pending() {
    try {
      if (!socket_.send(zmq::buffer(pending_->header), zmq::send_flags::sndmore | zmq::send_flags::dontwait))
        return false;
      socket_.send(zmq::buffer(pending_->body), zmq::send_flags::none);
    } catch (const zmq::error_t& e) {
      log_line() << "evmesh: link to " << setup_.peer_addr << ": " << e.what();
      return false;
    }
    pending_.reset();
    return true;
  }

  // Hellos and pings are repeated on a timer: when the socket cannot take
  // one now, it is dropped rather than queued ahead of events.
  void send_control(const frame& f) {
    if (pending_)
      return;
    auto wire = encode(f);
    try {
      socket_.send(zmq::buffer(wire.header), zmq::send_flags::dontwait);
    } catch (const zmq::error_t&) {
    }
  }

  void report() {
    report_.epoch = stream_.epoch();
    report_.acked = stream_.acked();
    report_.covered = stream_.covered();
    report_.in_flight = stream_.in_flight();
    report_.queued = stream_.queued();
    report_.connected = welcomed_;
    caf::anon_send(setup_.manager, link_atom::value, report_);
  }

  link_setup setup_;
  zmq::socket_t socket_;
  std::unique_ptr<store> db_;
  outbound_stream stream_;
  subscription_trie wanted_;
  std::vector<std::string> patterns_;
  uint64_t interest_version_ = 0;
  bool welcomed_ = false;
  std::vector<std::string> members_;
  std::optional<wire_frame> pending_;
  clock::time_point next_hello_, next_ping_, next_report_, last_progress_;
  std::chrono::milliseconds ack_timeout_{3000};
  link_report report_;
  uint64_t refusals_logged_ = 0;
};

} // namespace

// A blocking actor cannot declare a typed behavior: the handle carries the
// interface its drain() implements.
link_actor spawn_link(caf::actor_system& sys, link_setup setup) {
  return caf::actor_cast<link_actor>(sys.spawn<peer_link, caf::detached>(std::move(setup)));
}

} // namespace evmesh::cluster
