// The listener: owns the node's ROUTER socket, where every peer's link
// connects. It answers hellos (with how far this node has stored the peer's
// events and what it wants), sequences each peer's event frames (in order,
// gaps nacked, resends not stored twice), hands accepted events to the
// publisher to be stored and routed here, and acks each frame once its
// events are durable. Pings go to the manager (membership); the node's
// interest goes out to every peer that said hello.
#pragma once

#include "cluster/curve.hpp"
#include "cluster/messages.hpp"

#include "cluster/cluster_probe.hpp"
#include "actors/messages.hpp"

#include <caf/all.hpp>

#include <zmq.hpp>

#include <map>
#include <memory>
#include <optional>
#include <string>

namespace evmesh::cluster {

// The ROUTER socket bound (and the ZAP handler, with CURVE), before the
// actor exists, so a taken port fails the node's start and port 0 resolves.
struct listener_sockets {
  std::shared_ptr<zmq::socket_t> router;
  std::shared_ptr<zmq::socket_t> monitor;  // the router's failed handshakes (wrong key, not ZMTP)
  std::shared_ptr<zmq::socket_t> zap;
  std::string addr;  // HOST:PORT actually bound
};

// Throws std::runtime_error when the address is taken or invalid.
listener_sockets bind_listener(zmq::context_t& context, const std::string& bind_addr,
                               const std::optional<curve_keys>& curve);

struct listener_setup {
  std::string name;
  std::string bind_addr;  // HOST:PORT as bound
  uint64_t incarnation = 0;
  std::optional<curve_keys> curve;
  publisher_actor publisher;
  manager_actor manager;
  std::map<std::string, uint64_t> cursors;  // peer_cursors from the store
  cluster_probe* probe = nullptr;
};

// Runs on its own thread; its protocol is listener_actor (cluster/messages.hpp).
listener_actor spawn_listener(caf::actor_system& sys, listener_sockets sockets, listener_setup setup);

} // namespace evmesh::cluster
