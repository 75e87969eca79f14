// Messages between the cluster's actors (listener, links, manager) and the
// node's router and HTTP edge. Local only (never serialized): the wire
// protocol is cluster/detail/frame.hpp.
#pragma once

#include "actors/messages.hpp"
#include "store/store.hpp"

#include <caf/all.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace evmesh::cluster {

using heard_atom = caf::atom_constant<caf::atom("heard")>;
using members_atom = caf::atom_constant<caf::atom("members")>;
using hello_atom = caf::atom_constant<caf::atom("hello")>;
using ingested_atom = caf::atom_constant<caf::atom("ingested")>;
using link_atom = caf::atom_constant<caf::atom("link")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using cluster_atom = caf::atom_constant<caf::atom("cluster")>;
using bye_atom = caf::atom_constant<caf::atom("bye")>;

// A member said who it is (a ping or hello on the listener, a welcome on a
// link): (heard_atom, member_report).
struct member_report {
  std::string addr;
  std::string name;
  uint64_t incarnation = 0;
  std::vector<std::string> members;  // addresses it knows
};

// A link's state, reported to the manager on every heartbeat.
struct link_report {
  std::string addr;
  std::string peer;         // name, once welcomed
  bool connected = false;   // welcomed in this incarnation of the peer
  uint64_t epoch = 0;
  uint64_t acked = 0;       // the peer's durable cursor of our log
  uint64_t covered = 0;
  uint64_t in_flight = 0;   // frames awaiting ack
  uint64_t queued = 0;      // events held in memory for it
  uint64_t frames_sent = 0;
  uint64_t events_sent = 0;
  uint64_t restarts = 0;
  std::vector<std::string> interest;
};

// What GET /v1/cluster shows.
struct cluster_view {
  std::string name;
  std::string addr;
  uint64_t incarnation = 0;
  struct peer {
    std::string addr;
    std::string name;
    std::string state;
    uint64_t incarnation = 0;
    int64_t last_heard_ms_ago = -1;
    link_report link;
  };
  std::vector<peer> members;
  std::vector<std::string> interest;  // local patterns announced to peers
  std::vector<std::string> live_names;
};

} // namespace evmesh::cluster

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(evmesh::cluster::member_report)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(evmesh::cluster::link_report)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(evmesh::cluster::cluster_view)
