// A bridge actor: runs one WebSocket bridge on the node that owns it. It
// keeps one client connection (transports/ws_client_connection) to the
// external server and reconnects after every failure or drop, with
// exponential backoff (`backoff_min` doubling to `backoff_max`, ±20 %
// jitter; back to the minimum after a connection that stayed up
// `stable_after`).
// - inbound: after each connect it sends the `subscribe` messages, then
//   publishes every message that arrives as an event on `topic` through the
//   publisher (durable before it counts; JSON data when the text parses, a
//   JSON string when not, binary data for binary messages). At most
//   `inbound_window` publishes are outstanding; past that the connection
//   stops reading, so a slow store slows the server down (TCP) instead of
//   growing memory.
// - outbound: one event_feed per pattern, started at the log's end when the
//   bridge starts; each event is queued as the WebSocket edge's event
//   message and written in order. Per pattern it keeps the last queued seq;
//   when the queue is full (`outbound_queue`, the server is slow or gone)
//   the feeds stop, and once it has drained to half they start again from
//   those seqs, replaying the gap from retained history. A drop puts the
//   messages not yet written back at the queue's front. An event matching
//   several patterns is sent once.
// Its status goes to the manager on every change (at most every 100 ms for
// counters). Logs name the bridge and the server's scheme, host and port
// only (never headers, path or query, which may carry keys).
#pragma once

#include "actors/bridge_messages.hpp"
#include "actors/messages.hpp"
#include "model/bridge_config.hpp"
#include "actors/event_feed.hpp"
#include "transports/ws_client_connection.hpp"

#include <chrono>

namespace evmesh {

struct bridge_limits {
  std::chrono::milliseconds backoff_min{500};
  std::chrono::milliseconds backoff_max{30000};
  std::chrono::milliseconds stable_after{10000};
  std::size_t inbound_window = 256;
  std::size_t outbound_queue = 4096;
  std::size_t outbound_window = 64;  // messages handed to the connection, not yet written
};

struct bridge_setup {
  bridge_config config;
  caf::actor manager;  // hears (br_status_atom, bridge_status)
  publisher_actor publisher;
  store_writer_actor writer;  // outbound: where the log ends at start
  event_feed_context feeds;
  ws_client::runner* connections = nullptr;  // outlives the actor
  bridge_limits limits;
};

caf::actor spawn_bridge(caf::actor_system& sys, bridge_setup setup);

} // namespace evmesh

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(evmesh::bridge_setup)
