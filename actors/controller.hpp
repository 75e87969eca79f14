// The controller: the node's registry. It owns the tokens (persisted through
// the store writer, published to the HTTP edge as immutable snapshots) and
// the live subscriptions (it spawns each subscriber actor, registers it with
// the router, and forgets it when it ends), and the webhook endpoints
// (records of kind "endpoint", see model/endpoint.hpp): it validates and
// stores every change, tells the delivery manager, and when an endpoint is
// disabled by delivery (410, failing too long) publishes
// `evmesh.endpoint.disabled`; and the inbound sources (records of kind
// "source", see model/source.hpp), published to the ingest edge as immutable
// snapshots like the tokens. Endpoints and sources share the plumbing that
// stores a changed record and answers once it is durable. A delete is stored
// as a tombstone (see registry_record::deleted) so it replicates like a
// write; records a peer wrote arrive as (put_rec_atom, registry_record) and
// are applied here.
#pragma once

#include "actors/messages.hpp"
#include "model/auth.hpp"
#include "actors/probes.hpp"

#include <functional>

namespace evmesh {

// Receives a new auth table whenever tokens change (and once at start).
using auth_sink = std::function<void(auth_table_ptr)>;
// Receives a new source table whenever sources change (and once at start).
using source_sink = std::function<void(source_table_ptr)>;

// The token table from the stored token records plus the admin token. The
// node builds it before the HTTP edge starts (so no request can meet an empty
// table) and hands the same table to the controller.
auth_table make_auth_table(const std::vector<registry_record>& tokens,
                           const std::string& admin_token_hash);

struct controller_setup {
  store_writer_actor writer;
  router_actor router;
  auth_table tokens;        // from make_auth_table
  auth_sink publish_auth;   // called with each new table
  routing_probe* routing = nullptr;   // subscriptions made here
  webhook_probe* webhooks = nullptr;  // endpoints disabled here
  // webhook endpoints
  publisher_actor publisher;                    // for evmesh.endpoint.disabled
  caf::actor delivery_manager;                  // told of every endpoint and change
  std::vector<registry_record> endpoint_records;  // as stored at start
  bool allow_private_targets = false;
  caf::actor bridge_manager;  // applies replicated records of kind "bridge"
  // inbound sources
  std::vector<registry_record> source_records;  // as stored at start
  source_sink publish_sources;                  // called with each new table
};

// The topic of the event published when an endpoint is disabled.
constexpr const char* endpoint_disabled_topic = "evmesh.endpoint.disabled";

controller_actor spawn_controller(caf::actor_system& sys, controller_setup setup);

} // namespace evmesh

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(evmesh::controller_setup)
