// The event, the unit the mesh carries: what a publisher sent plus what the
// node stamped on it (id, time, seq). Immutable once published; shared as
// event_ptr so fan-out to many subscribers copies a pointer, not the payload.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

namespace evmesh {

struct event {
  std::string id;       // unique; the publisher's if given, else a time-sortable ULID
  std::string topic;    // dot-separated tokens, e.g. "orders.created"
  int64_t time_us = 0;  // microseconds since the Unix epoch, UTC
  uint64_t seq = 0;     // position in the log of the node that serves it
  bool binary = false;  // true: data holds raw bytes; false: data is JSON text
  std::string data;
  std::map<std::string, std::string> headers;
  std::string origin;       // the node it was published on; empty: this node
  uint64_t origin_seq = 0;  // its seq in the origin node's log (0 when local)

  friend bool operator==(const event&, const event&) = default;
};

using event_ptr = std::shared_ptr<const event>;

// RFC 3339 in UTC with microseconds: "2026-11-23T11:04:32.123456Z".
std::string format_rfc3339(int64_t time_us);

// Microseconds since the Unix epoch, now.
int64_t now_us();

// A new id: 26 Crockford base32 characters (a ULID), sortable by time and
// strictly increasing within this process.
std::string make_event_id();

// The id rules for ids supplied by publishers: 1..255 printable ASCII
// characters, no spaces. Empty string when valid, else why not.
std::string check_event_id(const std::string& id);

// CAF inspection, so events can travel in actor messages.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, event& x) {
  return f(x.id, x.topic, x.time_us, x.seq, x.binary, x.data, x.headers, x.origin, x.origin_seq);
}

} // namespace evmesh
