// See listener.hpp.
#include "cluster/listener.hpp"

#include "cluster/detail/frame.hpp"
#include "cluster/detail/inbound_sequencer.hpp"
#include "cluster/messages.hpp"
#include "cluster/detail/socket_actor.hpp"

#include "transports/event_codec.hpp"
#include "base/host_port.hpp"
#include "base/log_line.hpp"

namespace evmesh::cluster {
namespace {

// One peer that said hello: where to send acks and interest.
struct known_peer {
  std::string name;
  std::string addr;
  std::string routing_id;
};

class listener final : public socket_actor {
public:
  listener(caf::actor_config& cfg, listener_sockets sockets, listener_setup setup)
      : socket_actor(cfg), router_(std::move(sockets.router)), monitor_(std::move(sockets.monitor)),
        zap_(std::move(sockets.zap)), setup_(std::move(setup)), sequencer_(setup_.cursors) {}

  const char* name() const override { return "evmesh.cluster.listener"; }

protected:
  std::vector<zmq::socket_ref> sockets() override {
    if (zap_)
      return {*router_, *monitor_, *zap_};
    return {*router_, *monitor_};
  }

  void on_ready(std::size_t index) override {
    if (index == 1) {
      std::vector<zmq::message_t> parts;
      bool oversized = false;
      while (receive_parts(*monitor_, parts, 2, oversized))
        count_failed_handshake();
      return;
    }
    if (index == 2) {
      for (int i = 0; i < 64 && (zap_->get(zmq::sockopt::events) & ZMQ_POLLIN); ++i)
        answer_zap_request(*zap_, *setup_.curve);  // a refusal shows on the monitor
      return;
    }
    std::vector<zmq::message_t> parts;
    bool oversized = false;
    // Bounded per wake-up so mail (acks to send) is not starved.
    for (int i = 0; i < 256 && receive_parts(*router_, parts, 3, oversized); ++i)
      on_message(parts, oversized);
  }

  bool on_mail() override {
    return drain(
      [&](ingested_atom, const std::string& origin, uint64_t epoch, uint64_t frame_no,
          uint64_t last_seq, bool ok) { on_ingested(origin, epoch, frame_no, last_seq, ok); },
      [&](interest_atom, uint64_t version, std::vector<std::string>& patterns) {
        interest_version_ = version;
        interest_ = std::move(patterns);
        for (const auto& [routing_id, peer] : peers_)
          send(routing_id, interest_frame{interest_version_, interest_});
      });
  }

  std::chrono::milliseconds on_timer() override { return std::chrono::milliseconds{1000}; }

  void finish() override {
    zmq_socket_monitor(router_->handle(), nullptr, 0);
    monitor_->close();
    router_->close();
    if (zap_)
      zap_->close();
  }

private:
  void on_message(std::vector<zmq::message_t>& parts, bool oversized) {
    if (parts.size() < 2 || oversized) {
      refuse(parts.empty() ? "" : parts[0].to_string(), "a frame must have one or two parts");
      return;
    }
    auto routing_id = parts[0].to_string();
    frame f;
    std::string error;
    auto body = parts.size() == 3 ? parts[2].to_string_view() : std::string_view{};
    if (!decode(parts[1].to_string_view(), body, f, error)) {
      refuse(routing_id, error);
      return;
    }
    setup_.probe->frames_received.fetch_add(1, std::memory_order_relaxed);
    std::visit([&](auto& x) { handle(routing_id, x); }, f);
  }

  void handle(const std::string& routing_id, hello_frame& f) {
    if (f.name == setup_.name) {
      refuse(routing_id, "the peer at " + f.addr + " uses this node's name \"" + f.name +
                           "\"; give every node its own --name");
      return;
    }
    peers_[routing_id] = {f.name, f.addr, routing_id};
    by_name_[f.name] = routing_id;
    sequencer_.on_hello(f.name, f.epoch);
    send(routing_id, welcome_frame{setup_.name, setup_.bind_addr, setup_.incarnation,
                                   sequencer_.durable(f.name), interest_version_, interest_});
    caf::anon_send(setup_.manager, heard_atom::value,
                   member_report{f.addr, f.name, f.incarnation, {}});
  }

  void handle(const std::string&, bye_frame& f) {
    caf::anon_send(setup_.manager, bye_atom::value, std::move(f.addr), f.incarnation);
  }

  void handle(const std::string&, ping_frame& f) {
    caf::anon_send(setup_.manager, heard_atom::value,
                   member_report{f.addr, f.name, f.incarnation, std::move(f.members)});
  }

  void handle(const std::string& routing_id, events_frame& f) {
    auto peer = peers_.find(routing_id);
    if (peer == peers_.end()) {
      send(routing_id, rehello_frame{});
      return;
    }
    const auto& origin = peer->second.name;
    switch (sequencer_.on_frame(origin, f.epoch, f.frame_no)) {
      case frame_verdict::accept:
        break;
      case frame_verdict::gap:
        send(routing_id, nack_frame{f.epoch, sequencer_.durable(origin)});
        return;
      case frame_verdict::unknown:
        send(routing_id, rehello_frame{});
        return;
      case frame_verdict::stale:
      case frame_verdict::repeat:
        return;
    }
    std::vector<event> fresh;
    fresh.reserve(f.events.size());
    uint64_t last_seq = 0;
    for (auto& e : f.events) {
      last_seq = std::max(last_seq, e.seq);
      if (!sequencer_.accept_event(origin, e.seq))
        continue;
      e.origin = origin;
      e.origin_seq = e.seq;
      e.seq = 0;
      fresh.push_back(std::move(e));
    }
    if (auto batch = sequencer_.queue_for_store(origin, {f.epoch, f.frame_no, last_seq, std::move(fresh)}))
      store(origin, std::move(*batch));
  }

  // Hands a batch to the publisher (same group commit as local publishes);
  // its reply comes back as an `ingested` message.
  void store(const std::string& origin, store_batch batch) {
    if (batch.events.empty()) {
      on_ingested(origin, batch.epoch, batch.frame_no, batch.last_seq, true);
      return;
    }
    auto self = caf::actor_cast<listener_actor>(this);
    auto* probe = setup_.probe;
    caf::anon_send(setup_.publisher, ingest_atom::value, std::move(batch.events),
                   publish_callback{[self, origin, epoch = batch.epoch, frame_no = batch.frame_no,
                                     last_seq = batch.last_seq, probe](publish_reply reply) {
                     bool ok = reply.error.empty();
                     if (ok) {
                       uint64_t stored = 0;
                       for (const auto& ack : reply.acks)
                         stored += ack.duplicate ? 0 : 1;
                       probe->events_received.fetch_add(stored, std::memory_order_relaxed);
                     }
                     caf::anon_send(self, ingested_atom::value, origin, epoch, frame_no, last_seq, ok);
                   }});
  }

  // Frames only links receive, arriving here: a confused or hostile peer.
  template <class Other>
  void handle(const std::string& routing_id, Other&) {
    refuse(routing_id, "frame kind not accepted by a listener");
  }

  void on_ingested(const std::string& origin, uint64_t epoch, uint64_t frame_no, uint64_t last_seq,
                   bool ok) {
    auto at = by_name_.find(origin);
    if (!ok) {
      log_line() << "evmesh: storing events from " << origin
                 << " failed; the peer will resend them";
      sequencer_.store_failed(origin);
      if (at != by_name_.end())
        send(at->second, rehello_frame{});
      return;
    }
    sequencer_.stored(origin, last_seq);
    if (at != by_name_.end())
      send(at->second, ack_frame{epoch, frame_no, sequencer_.durable(origin)});
    if (auto next = sequencer_.next_store(origin))
      store(origin, std::move(*next));
  }

  void send(const std::string& routing_id, const frame& f) {
    auto wire = encode(f);
    try {
      router_->send(zmq::buffer(routing_id), zmq::send_flags::sndmore | zmq::send_flags::dontwait);
      router_->send(zmq::buffer(wire.header), zmq::send_flags::dontwait);
    } catch (const zmq::error_t&) {
      // The peer is gone (ROUTER_MANDATORY: EHOSTUNREACH) or its queue is
      // full; acks and interest are resent by the protocol when it is back.
    }
  }

  void count_failed_handshake() {
    setup_.probe->peers_refused.fetch_add(1, std::memory_order_relaxed);
    if (refusals_logged_++ < 20)
      log_line() << "evmesh: refused a cluster connection: handshake failed"
                 << (setup_.curve ? " (a peer without the cluster key?)" : "");
  }

  void refuse(const std::string& routing_id, const std::string& why) {
    setup_.probe->frames_refused.fetch_add(1, std::memory_order_relaxed);
    if (refusals_logged_++ < 20)
      log_line() << "evmesh: refused a cluster frame"
                 << (routing_id.empty() ? "" : " from " + printable(routing_id)) << ": " << why;
  }

  static std::string printable(const std::string& id) {
    std::string out;
    for (char c : id.substr(0, 64))
      out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
    return out;
  }

  std::shared_ptr<zmq::socket_t> router_;
  std::shared_ptr<zmq::socket_t> monitor_;
  std::shared_ptr<zmq::socket_t> zap_;
  listener_setup setup_;
  inbound_sequencer sequencer_;
  std::map<std::string, known_peer> peers_;      // by routing id
  std::map<std::string, std::string> by_name_;   // name → latest routing id
  uint64_t interest_version_ = 0;
  std::vector<std::string> interest_;
  uint64_t refusals_logged_ = 0;
};

} // namespace

listener_sockets bind_listener(zmq::context_t& context, const std::string& bind_addr,
                               const std::optional<curve_keys>& curve) {
  listener_sockets out;
  if (curve)
    out.zap = std::make_shared<zmq::socket_t>(bind_zap_handler(context));
  out.router = std::make_shared<zmq::socket_t>(context, zmq::socket_type::router);
  auto& router = *out.router;
  router.set(zmq::sockopt::linger, 0);
  router.set(zmq::sockopt::router_mandatory, 1);
  router.set(zmq::sockopt::router_handover, 1);
  router.set(zmq::sockopt::rcvhwm, 10000);
  router.set(zmq::sockopt::sndhwm, 10000);
  // A peer sending more than a frame may hold is disconnected by ZeroMQ
  // before anything is allocated for it.
  router.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(codec::max_frame_bytes));
  if (curve)
    make_curve_server(router, *curve);
  host_port bind_to;
  if (parse_host_port(bind_addr, bind_to) != host_port_errc::ok)
    throw std::runtime_error("cannot listen for the cluster on " + bind_addr + ": not HOST:PORT");
  auto host = address_host(bind_to.host);
  try {
    router.bind("tcp://" + host + ":" + (bind_to.port == 0 ? "*" : std::to_string(bind_to.port)));
  } catch (const zmq::error_t& e) {
    throw std::runtime_error("cannot listen for the cluster on " + bind_addr + ": " + e.what());
  }
  auto monitor_endpoint = "inproc://evmesh-cluster-monitor-" + std::to_string(reinterpret_cast<uintptr_t>(&router));
  if (zmq_socket_monitor(router.handle(), monitor_endpoint.c_str(),
                         ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
                           | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) != 0)
    throw std::runtime_error("cannot monitor the cluster socket: " + std::string(zmq_strerror(zmq_errno())));
  out.monitor = std::make_shared<zmq::socket_t>(context, zmq::socket_type::pair);
  out.monitor->set(zmq::sockopt::linger, 0);
  out.monitor->connect(monitor_endpoint);
  auto endpoint = router.get(zmq::sockopt::last_endpoint);  // tcp://HOST:PORT
  out.addr = host + endpoint.substr(endpoint.rfind(':'));
  return out;
}

// A blocking actor cannot declare a typed behavior: the handle carries the
// interface its drain() implements.
listener_actor spawn_listener(caf::actor_system& sys, listener_sockets sockets, listener_setup setup) {
  return caf::actor_cast<listener_actor>(
    sys.spawn<listener, caf::detached>(std::move(sockets), std::move(setup)));
}

} // namespace evmesh::cluster
