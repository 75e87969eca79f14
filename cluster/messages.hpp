// Messages between the cluster's actors (listener, links, manager) and the
// node's router and HTTP edge, and the typed interfaces of those three
// actors: each interface lists every message its actor takes, with who
// sends it. Local only (never serialized): the wire protocol is
// cluster/detail/frame.hpp.
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
using listener_atom = caf::atom_constant<caf::atom("listener")>;

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

// --- typed interfaces -------------------------------------------------------

// The listener (cluster/listener.hpp), a detached actor owning the ROUTER
// socket.
using listener_actor = caf::typed_actor<
  // From the manager: the node's interest changed (version, patterns); sent
  // to every peer that said hello, and in each later welcome.
  caf::reacts_to<interest_atom, uint64_t, std::vector<std::string>>,
  // From the publisher's callback, to the listener itself: a peer's frame
  // (origin, epoch, frame_no, last origin seq) is durable (true) or failed.
  caf::reacts_to<ingested_atom, std::string, uint64_t, uint64_t, uint64_t, bool>>;

// A link to one peer (cluster/peer_link.hpp), a detached actor owning a
// DEALER socket.
using link_actor = caf::typed_actor<
  // From the router: events published here that the peer wants, in log order.
  caf::reacts_to<forward_atom, std::vector<event_ptr>>,
  // From the manager: every member address it knows, gossiped in pings.
  caf::reacts_to<members_atom, std::vector<std::string>>,
  // From the manager: the peer restarted; say hello again.
  caf::reacts_to<hello_atom>>;

// The cluster manager (cluster/manager.hpp).
using manager_actor = caf::typed_actor<
  // From the listener (ping, hello) and the links (welcome): a member said who it is.
  caf::reacts_to<heard_atom, member_report>,
  // From the listener: the member at this address (incarnation) left.
  caf::reacts_to<bye_atom, std::string, uint64_t>,
  // From each link on every heartbeat: its state, shown by GET /v1/cluster.
  caf::reacts_to<link_atom, link_report>,
  // From the manager itself, every heartbeat: ticks members to suspect and dead.
  caf::reacts_to<tick_atom>,
  // From the node once: the listener that announces the node's interest.
  caf::reacts_to<listener_atom, listener_actor>,
  // From the router (as watcher): the local subscription patterns changed.
  caf::reacts_to<interest_atom, std::vector<std::string>>,
  // From the store writer (as watcher): a registry record written here; announce it.
  caf::reacts_to<put_rec_atom, registry_record>,
  // From the router (as watcher): a registry event from a peer; store and apply it if it wins.
  caf::reacts_to<put_rec_atom, event_ptr>,
  // From the HTTP edge: what GET /v1/cluster shows.
  caf::replies_to<cluster_atom>::with<cluster_view>>;

} // namespace evmesh::cluster

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(evmesh::cluster::member_report)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(evmesh::cluster::link_report)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(evmesh::cluster::cluster_view)
