// Turns one POST /v1/ingest/{source} into an event draft, or says why not:
// verifies the sender's signature (base/inbound_verifier), resolves
// the topic (fixed, a header, or a JSON body field, after a prefix), and
// makes the sender's delivery id the event id ("<source>:<delivery id>") so
// the store's 24 h id dedup publishes a redelivery once. Data is the body
// when it is JSON (stored compact), else the raw bytes (binary event, shown
// as data_base64). The headers kept on the event: content-type, user-agent,
// the delivery id and topic headers, webhook-timestamp, and evmesh-source.
// Runs on the HTTP io thread: no blocking, no actor hop.
#pragma once

#include "http/http_probe.hpp"
#include "model/source.hpp"
#include "transports/http_server.hpp"

#include <evmesh/event.hpp>

#include <optional>
#include <string>

namespace evmesh {

struct ingest_draft {
  std::optional<event> draft;  // set when the request may be published
  // otherwise:
  ingest_result result = ingest_result::rejected_signature;
  unsigned status = 401;
  std::string detail;
};

ingest_draft prepare_ingest(const live_source& source, const http::request& req, int64_t now_us);

} // namespace evmesh
