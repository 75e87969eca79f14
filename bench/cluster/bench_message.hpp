// The one message every system in the cluster bench carries: a JSON string of
// exactly the payload size (evmesh data must be JSON, so ZeroMQ and NATS carry
// the very same bytes). Inside the quotes: a kind letter, a sequence number,
// the send time and the load phase's start time (both CLOCK_MONOTONIC ns,
// which is system-wide on Linux, so the receiving process can compute
// publish → receive latency), then 'x' padding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cluster_bench {

enum class message_kind : char {
  probe = 'p',  // readiness probe; the subscriber answers it with a reply
  paced = 'a',  // latency phase at a fixed rate
  load = 'l',   // throughput phase, as fast as the system takes them
  reply = 'r',  // subscriber → publisher: "I saw your probe"
};

struct message_header {
  message_kind kind = message_kind::probe;
  uint64_t seq = 0;
  int64_t sent_ns = 0;
  int64_t load_start_ns = 0;  // 0 outside the load phase
};

// The smallest payload that holds any header.
constexpr std::size_t min_payload_bytes = 64;

// Nanoseconds on CLOCK_MONOTONIC.
int64_t clock_ns();

// Writes `header` into `out` (resized to `size` bytes, padded). Throws
// std::invalid_argument if size < min_payload_bytes.
void encode_message(const message_header& header, std::size_t size, std::string& out);

// The header of a message made by encode_message; nullopt for anything else.
std::optional<message_header> decode_message(std::string_view payload);

} // namespace cluster_bench
