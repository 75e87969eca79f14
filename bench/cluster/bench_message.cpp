// Encoding and decoding of the cluster bench's message (see bench_message.hpp).
#include "bench_message.hpp"

#include <charconv>
#include <ctime>
#include <stdexcept>

namespace cluster_bench {

int64_t clock_ns() {
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  return int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
}

void encode_message(const message_header& header, std::size_t size, std::string& out) {
  if (size < min_payload_bytes)
    throw std::invalid_argument("payload must be at least " + std::to_string(min_payload_bytes) +
                                " bytes");
  out.assign(size, 'x');
  char* at = out.data();
  char* end = at + size - 1;  // keep room for the closing quote
  *at++ = '"';
  *at++ = static_cast<char>(header.kind);
  *at++ = ' ';
  at = std::to_chars(at, end, header.seq).ptr;
  *at++ = ' ';
  at = std::to_chars(at, end, header.sent_ns).ptr;
  *at++ = ' ';
  at = std::to_chars(at, end, header.load_start_ns).ptr;
  *at = ' ';
  out.back() = '"';
}

std::optional<message_header> decode_message(std::string_view payload) {
  if (payload.size() < min_payload_bytes || payload.front() != '"' || payload[2] != ' ')
    return std::nullopt;
  message_header header;
  char kind = payload[1];
  if (kind != 'p' && kind != 'a' && kind != 'l' && kind != 'r')
    return std::nullopt;
  header.kind = static_cast<message_kind>(kind);
  const char* at = payload.data() + 3;
  const char* end = payload.data() + payload.size();
  auto number = [&](auto& value) {
    auto [next, error] = std::from_chars(at, end, value);
    if (error != std::errc{} || next == end || *next != ' ')
      return false;
    at = next + 1;
    return true;
  };
  if (!number(header.seq) || !number(header.sent_ns) || !number(header.load_start_ns))
    return std::nullopt;
  return header;
}

} // namespace cluster_bench
