// A link to one peer node: owns the DEALER socket that dials the peer's
// listener. It says hello, learns from the welcome where the peer's copy of
// our log ends and what the peer wants, and streams our events to it
// (outbound_stream: numbered frames, a bounded window, resend from the
// peer's cursor after a gap, a reconnect, a peer restart or an ack timeout;
// what is not in memory is read back from the store). It pings the peer
// every heartbeat and tells the router which patterns the peer wants.
#pragma once

#include "cluster/curve.hpp"
#include "cluster/messages.hpp"
#include "cluster/detail/outbound_stream.hpp"

#include "actors/messages.hpp"
#include "cluster/cluster_probe.hpp"
#include "store/store.hpp"

#include <caf/all.hpp>

#include <zmq.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace evmesh::cluster {

struct link_setup {
  std::string self_name;
  std::string self_addr;
  uint64_t incarnation = 0;
  std::string peer_addr;  // HOST:PORT to dial
  zmq::context_t* context = nullptr;
  std::optional<curve_keys> curve;
  std::function<std::unique_ptr<store>()> open_store;  // a read-only connection of its own
  router_actor router;
  manager_actor manager;
  stream_limits limits;
  std::chrono::milliseconds heartbeat{500};
  std::chrono::milliseconds ack_timeout{3000};
  cluster_probe* probe = nullptr;
};

// Runs on its own thread; its protocol is link_actor (cluster/messages.hpp).
link_actor spawn_link(caf::actor_system& sys, link_setup setup);

} // namespace evmesh::cluster
