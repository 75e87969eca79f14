// The vocabulary actors speak: atoms, the message structs that travel between
// them, and the typed interfaces of the actors whose protocol is stable.
// Local-only payloads (callbacks, shared pointers) are whitelisted as unsafe
// message types: they never reach a serializer (the cluster link speaks
// msgpack, not CAF serialization).
#pragma once

#include "actors/delivery_messages.hpp"
#include "model/source.hpp"
#include "store/store.hpp"

#include <evmesh/caf_messages.hpp>
#include <evmesh/event.hpp>

#include <caf/all.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace evmesh {

using append_atom = caf::atom_constant<caf::atom("append")>;
using publish_atom = caf::atom_constant<caf::atom("publish")>;
using route_atom = caf::atom_constant<caf::atom("route")>;
using deliver_atom = caf::atom_constant<caf::atom("deliver")>;
using consumed_atom = caf::atom_constant<caf::atom("consumed")>;
using overflow_atom = caf::atom_constant<caf::atom("overflow")>;
using subscribe_atom = caf::atom_constant<caf::atom("subscribe")>;
using unsub_atom = caf::atom_constant<caf::atom("unsub")>;
using history_atom = caf::atom_constant<caf::atom("history")>;
using find_atom = caf::atom_constant<caf::atom("find")>;
using stats_atom = caf::atom_constant<caf::atom("stats")>;
using retain_atom = caf::atom_constant<caf::atom("retain")>;
using put_rec_atom = caf::atom_constant<caf::atom("putrec")>;
using token_atom = caf::atom_constant<caf::atom("token")>;
using flush_atom = caf::atom_constant<caf::atom("flush")>;
using ingest_atom = caf::atom_constant<caf::atom("ingest")>;
using peer_atom = caf::atom_constant<caf::atom("peer")>;
using watch_atom = caf::atom_constant<caf::atom("watch")>;
using forward_atom = caf::atom_constant<caf::atom("forward")>;
using interest_atom = caf::atom_constant<caf::atom("interest")>;
// inbound sources (controller)
using src_create_atom = caf::atom_constant<caf::atom("srccreate")>;
using src_list_atom = caf::atom_constant<caf::atom("srclist")>;
using src_get_atom = caf::atom_constant<caf::atom("srcget")>;
using src_patch_atom = caf::atom_constant<caf::atom("srcpatch")>;
using src_delete_atom = caf::atom_constant<caf::atom("srcdelete")>;

// --- publishing -------------------------------------------------------------

// What the publisher answers for one event.
struct publish_ack {
  std::string id;
  uint64_t seq = 0;
  bool duplicate = false;
};

// Either one ack per event of the request, in order, or an error (then
// nothing of the request was stored).
struct publish_reply {
  std::vector<publish_ack> acks;
  std::string error;
};

// Called exactly once, on a CAF worker thread, when the events are durable
// (or failed). Must not block.
using publish_callback = std::function<void(publish_reply)>;

// The store writer's answer to an append: the events with their seqs, and
// per event whether it was new; or the reason the transaction failed.
struct stored_batch {
  std::vector<event> events;
  std::vector<append_outcome> outcomes;
  std::string error;
};

// --- history ----------------------------------------------------------------

struct history_query {
  std::string pattern;
  uint64_t after_seq = 0;
  std::size_t limit = 100;
};

struct history_page {
  std::vector<event> events;
  uint64_t next_after = 0;  // pass as after_seq to continue
  std::string error;
};

// --- subscribing ------------------------------------------------------------

using subscriber_id = uint64_t;
using event_callback = std::function<void(const event&)>;
// Called once when the node ends a subscription on its own (the subscriber
// fell behind its queue limit, or the node stops), with the reason.
using close_callback = std::function<void(const std::string& reason)>;

// What a new subscription delivers to: a callback or a host's CAF actor.
struct subscriber_target {
  event_callback on_event;  // set, or
  caf::actor host_actor;    // receives (evmesh::event_ptr) messages
  close_callback on_close;  // optional
};

// --- typed interfaces -------------------------------------------------------

// The single writer of the durable store. The watcher (the cluster manager)
// hears every registry record written here that was not replicated from a
// peer, as (put_rec_atom, registry_record), to announce it.
using store_writer_actor = caf::typed_actor<
  caf::replies_to<append_atom, std::vector<event>>::with<stored_batch>,
  caf::replies_to<put_rec_atom, registry_record>::with<bool>,
  caf::reacts_to<watch_atom, caf::actor>,
  caf::replies_to<stats_atom>::with<store_stats>,
  caf::reacts_to<retain_atom>,
  // webhook delivery state (actors/delivery_messages.hpp)
  caf::replies_to<dl_open_atom, std::string>::with<delivery_snapshot>,
  caf::replies_to<dl_save_atom, std::vector<endpoint_progress>>::with<bool>,
  caf::replies_to<dl_close_atom, std::string, bool>::with<bool>,
  caf::replies_to<dl_attempts_atom, std::string, uint64_t>::with<std::vector<attempt_record>>,
  caf::replies_to<dl_status_atom, event_ptr>::with<delivery_status>,
  caf::replies_to<dl_replay_atom, replay_request>::with<replay_result>>;

// Reads retained history on its own connection, beside the writer.
using store_reader_actor = caf::typed_actor<
  caf::replies_to<history_atom, history_query>::with<history_page>,
  caf::replies_to<find_atom, std::string>::with<std::optional<event>>,
  caf::replies_to<dl_scan_atom, log_scan>::with<log_page>,
  caf::replies_to<dl_scan_atom, shared_log_scan>::with<shared_log_pages>>;

// Takes events in, stamps and batches them, acks once durable, routes them.
// ingest takes events received from a peer node as they are (id, time,
// origin kept) through the same batches. flush answers once everything
// received before it is durable and routed.
using publisher_actor = caf::typed_actor<
  caf::reacts_to<publish_atom, std::vector<event>, publish_callback>,
  caf::reacts_to<ingest_atom, std::vector<event>, publish_callback>,
  caf::replies_to<flush_atom>::with<bool>>;

// Where the router sends the events of webhook endpoints: the delivery
// manager (actors/delivery_manager.hpp).
using webhook_feed_actor = caf::typed_actor<
  // One routed batch, already matched; the feed acknowledges its events
  // with the router's (consumed_atom, count).
  caf::reacts_to<deliver_atom, webhook_batch>,
  // The feed fell more than its queue limit behind: the router dropped
  // batches (from the reason's on), so every endpoint catches up from the log.
  caf::reacts_to<overflow_atom, std::string>>;

// Matches events against subscriptions and fans them out; events published
// here also go to the link of every peer node whose interest matches
// (peer: name, patterns, link actor; no patterns removes the peer). The
// watcher (the cluster manager) hears the set of local patterns on change
// as (interest_atom, std::vector<std::string>), and registry events from
// peers as (put_rec_atom, event_ptr); no subscriber sees registry events.
// Webhook endpoints are routed in the same single match as subscribers:
// (ep_route_atom, endpoint number, patterns, feed) sets which events go to
// the endpoint (no patterns: none), each routed batch goes to the feed as
// one webhook_batch, and the feed acknowledges with (consumed_atom, count).
using router_actor = caf::typed_actor<
  caf::reacts_to<route_atom, std::vector<event_ptr>>,
  caf::reacts_to<peer_atom, std::string, std::vector<std::string>, caf::actor>,
  caf::reacts_to<watch_atom, caf::actor>,
  caf::reacts_to<subscribe_atom, subscriber_id, std::string, caf::actor, uint64_t>,
  caf::reacts_to<unsub_atom, subscriber_id>,
  caf::reacts_to<consumed_atom, subscriber_id, uint64_t>,
  caf::reacts_to<ep_route_atom, uint64_t, std::vector<std::string>, webhook_feed_actor>,
  caf::reacts_to<consumed_atom, uint64_t>>;

// The controller's answer to a source call.
using source_reply = registry_reply<source_config>;

// The registry: tokens, webhook endpoints, inbound sources and live subscriptions. put_rec
// applies a record replicated from a peer (already stored) to the
// in-memory state.
using controller_actor = caf::typed_actor<
  caf::reacts_to<put_rec_atom, registry_record>,
  caf::replies_to<token_atom, std::vector<std::string>>::with<std::string>,
  caf::replies_to<ep_create_atom, std::string>::with<endpoint_reply>,
  caf::replies_to<ep_list_atom>::with<std::vector<endpoint_config>>,
  caf::replies_to<ep_get_atom, std::string>::with<endpoint_reply>,
  caf::replies_to<ep_patch_atom, std::string, std::string>::with<endpoint_reply>,
  caf::replies_to<ep_delete_atom, std::string>::with<endpoint_reply>,
  caf::replies_to<ep_rotate_atom, std::string, std::string>::with<endpoint_reply>,
  caf::reacts_to<ep_disable_atom, std::string, std::string>,
  caf::replies_to<src_create_atom, std::string>::with<source_reply>,
  caf::replies_to<src_list_atom>::with<std::vector<source_config>>,
  caf::replies_to<src_get_atom, std::string>::with<source_reply>,
  caf::replies_to<src_patch_atom, std::string, std::string>::with<source_reply>,
  caf::replies_to<src_delete_atom, std::string>::with<source_reply>,
  caf::replies_to<subscribe_atom, std::string, subscriber_target, uint64_t>::with<subscriber_id>,
  caf::reacts_to<unsub_atom, subscriber_id>>;

} // namespace evmesh

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<evmesh::event_ptr>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(evmesh::publish_callback)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(evmesh::stored_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(evmesh::history_query)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(evmesh::history_page)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(evmesh::registry_record)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(evmesh::store_stats)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::optional<evmesh::event>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(evmesh::subscriber_target)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(evmesh::source_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(evmesh::source_config)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<evmesh::source_config>)
