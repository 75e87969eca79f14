// What the webhook parts of a node say to each other: the controller (which
// owns endpoint records), the delivery manager and its delivery actors, and
// the store writer/reader (delivery state on disk). Included by messages.hpp.
#pragma once

#include "actors/registry_reply.hpp"
#include "store/delivery_store.hpp"
#include "model/endpoint.hpp"
#include "store/lease_table.hpp"

#include <evmesh/event.hpp>

#include <caf/all.hpp>

#include <map>

#include <string>
#include <vector>

namespace evmesh {

// store writer: delivery state
using dl_open_atom = caf::atom_constant<caf::atom("dlopen")>;
using dl_save_atom = caf::atom_constant<caf::atom("dlsave")>;
using dl_close_atom = caf::atom_constant<caf::atom("dlclose")>;
using dl_attempts_atom = caf::atom_constant<caf::atom("dlattempts")>;
using dl_status_atom = caf::atom_constant<caf::atom("dlstatus")>;
using dl_replay_atom = caf::atom_constant<caf::atom("dlreplay")>;
// store reader: catching up on the log
using dl_scan_atom = caf::atom_constant<caf::atom("dlscan")>;
// controller: endpoint registry
using ep_create_atom = caf::atom_constant<caf::atom("epcreate")>;
using ep_list_atom = caf::atom_constant<caf::atom("eplist")>;
using ep_get_atom = caf::atom_constant<caf::atom("epget")>;
using ep_patch_atom = caf::atom_constant<caf::atom("eppatch")>;
using ep_delete_atom = caf::atom_constant<caf::atom("epdelete")>;
using ep_rotate_atom = caf::atom_constant<caf::atom("eprotate")>;
using ep_disable_atom = caf::atom_constant<caf::atom("epdisable")>;
// delivery manager and delivery actors
using ep_update_atom = caf::atom_constant<caf::atom("epupdate")>;
using ep_remove_atom = caf::atom_constant<caf::atom("epremove")>;
using replay_atom = caf::atom_constant<caf::atom("replay")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using progress_atom = caf::atom_constant<caf::atom("progress")>;
using wake_atom = caf::atom_constant<caf::atom("wake")>;
using posted_atom = caf::atom_constant<caf::atom("posted")>;
using resync_atom = caf::atom_constant<caf::atom("resync")>;
using scanned_atom = caf::atom_constant<caf::atom("scanned")>;
// router: which events go to which webhook endpoint
using ep_route_atom = caf::atom_constant<caf::atom("eproute")>;
// lease keeper (shared store)
using lease_atom = caf::atom_constant<caf::atom("lease")>;
using release_atom = caf::atom_constant<caf::atom("release")>;

// What the router hands the webhook side for one routed batch: per
// endpoint (by the number the delivery manager routes it under) the events
// its patterns match, in log order, and the highest seq routed, matched or
// not, so that an idle endpoint's cursor follows the log.
struct endpoint_events {
  uint64_t endpoint = 0;
  std::vector<event_ptr> events;
};

struct webhook_batch {
  std::vector<endpoint_events> endpoints;
  uint64_t routed_upto = 0;
};

// An endpoint's delivery state as it starts: its cursor (created at the
// log's end if it had none) and what waits for a retry or a replay.
struct delivery_snapshot {
  std::vector<endpoint_cursor> cursors;  // one per log read so far
  std::vector<pending_delivery> pending;
  std::string error;
};

// For GET /v1/events/{id}: the rows of one event and the cursors of its log.
struct delivery_status {
  uint64_t seq = 0;  // the event's seq in its log (delivery_store::home_of)
  std::vector<delivery_row> rows;
  std::vector<endpoint_cursor> cursors;
  std::string error;
};

// since/until are seqs, or microsecond times when by_time; both inclusive;
// until 0 means "to the end".
struct replay_request {
  std::string endpoint_id;
  std::vector<std::string> patterns;
  bool by_time = false;
  int64_t since = 0;
  int64_t until = 0;
  std::size_t limit = 10000;
};

struct replay_result {
  std::vector<pending_delivery> rows;  // queued; emptied by the manager once handed to the delivery actor
  std::size_t queued = 0;
  uint64_t from_seq = 0;
  uint64_t to_seq = 0;
  bool truncated = false;  // more matched than `limit`: replay again from to_seq + 1
  std::string error;
};

// A page of the log for a delivery actor catching up: events after
// after_seq matching any pattern.
struct log_scan {
  std::vector<std::string> patterns;
  uint64_t after_seq = 0;
  std::size_t limit = 256;
};

struct log_page {
  std::vector<event> events;
  uint64_t scanned_to = 0;  // every event up to here was examined
  bool at_end = false;      // nothing after scanned_to was committed at scan time
  std::string error;
};

// On a shared store, a delivery actor catches up on every node's log at
// once: per log, the local events after its position there (0 for a log
// it has not read yet) matching any pattern, at most `limit` per log.
struct shared_log_scan {
  std::vector<std::string> patterns;
  std::map<std::string, uint64_t> after;  // by log
  std::size_t limit = 256;
};

struct shared_log_pages {
  std::map<std::string, log_page> logs;  // every log of the store
  std::string error;
};

// A lease round's outcome: what this node holds now (endpoint id → fence),
// or why the round failed (then nothing is known).
struct lease_grant {
  std::map<std::string, uint64_t> held;
  std::string error;
};

// The controller's answer to an endpoint call.
using endpoint_reply = registry_reply<endpoint_config>;

} // namespace evmesh

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(evmesh::webhook_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(evmesh::delivery_snapshot)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(evmesh::delivery_status)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(evmesh::replay_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(evmesh::replay_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(evmesh::log_scan)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(evmesh::log_page)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(evmesh::shared_log_scan)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(evmesh::lease_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(evmesh::lease_grant)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(evmesh::shared_log_pages)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<evmesh::pending_delivery>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(evmesh::endpoint_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(evmesh::endpoint_config)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(evmesh::endpoint_progress)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<evmesh::endpoint_progress>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<evmesh::endpoint_config>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<evmesh::attempt_record>)
