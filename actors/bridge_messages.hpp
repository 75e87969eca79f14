// What the bridge parts of a node say to each other: the HTTP edge and the
// controller talk to the bridge manager (definitions, replicated records,
// status, metrics); the manager and its bridge actors exchange status; each
// bridge actor hears its WebSocket connection, its event feeds and its
// publishes through these atoms (every message from a connection or a feed
// carries the generation it belongs to, so late news of an old one is
// dropped).
#pragma once

#include "base/metrics_registry.hpp"

#include <caf/all.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace evmesh {

// bridge manager: definitions (from the edge), ownership, metrics
using br_create_atom = caf::atom_constant<caf::atom("brcreate")>;
using br_list_atom = caf::atom_constant<caf::atom("brlist")>;
using br_get_atom = caf::atom_constant<caf::atom("brget")>;
using br_patch_atom = caf::atom_constant<caf::atom("brpatch")>;
using br_delete_atom = caf::atom_constant<caf::atom("brdelete")>;
using br_owners_atom = caf::atom_constant<caf::atom("browners")>;
using br_metrics_atom = caf::atom_constant<caf::atom("brmetrics")>;
using br_status_atom = caf::atom_constant<caf::atom("brstatus")>;
// bridge actor: its connection, feeds, publishes and timers
using br_open_atom = caf::atom_constant<caf::atom("bropen")>;
using br_message_atom = caf::atom_constant<caf::atom("brmessage")>;
using br_sent_atom = caf::atom_constant<caf::atom("brsent")>;
using br_closed_atom = caf::atom_constant<caf::atom("brclosed")>;
using br_retry_atom = caf::atom_constant<caf::atom("brretry")>;
using br_events_atom = caf::atom_constant<caf::atom("brevents")>;
using br_feedend_atom = caf::atom_constant<caf::atom("brfeedend")>;
using br_published_atom = caf::atom_constant<caf::atom("brpubd")>;
using br_resume_atom = caf::atom_constant<caf::atom("brresume")>;

// What a bridge actor reports to its manager whenever something changes.
struct bridge_status {
  std::string id;
  std::string state;       // connecting, connected, backing_off
  std::string last_error;  // empty until something failed
  int64_t last_error_us = 0;
  int64_t last_connected_us = 0;
  int64_t next_attempt_us = 0;  // while backing_off
  uint64_t connects = 0;
  uint64_t messages_in = 0;   // messages received from the server
  uint64_t messages_out = 0;  // messages written to the server
  uint64_t published = 0;     // inbound: events made durable
  uint64_t errors = 0;        // failed connections, drops and failed publishes
  uint64_t queued = 0;        // outbound: events waiting for the server
  uint64_t resumes = 0;       // outbound: catch-ups from retained history
};

// The manager's answer to a definition call: an HTTP status and either the
// JSON body or the problem detail.
struct bridge_reply {
  int status = 200;
  std::string error;
  std::string body;  // JSON
};

} // namespace evmesh

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(evmesh::bridge_status)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(evmesh::bridge_reply)
// The answer to br_metrics_atom: local only, never serialized.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<evmesh::metric_family>)
