// Reading a node's /metrics in tests: one sample's value, and a bounded wait
// for a value (a gauge settles after connections close).
#pragma once

#include "support/api_client.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <thread>

namespace evmesh::test {

// The value of an unlabelled sample, or ~0 if the node does not report it.
inline uint64_t metric(api_client& c, const std::string& name) {
  auto body = c.get("/metrics").body;
  auto pos = body.find("\n" + name + " ");
  if (pos == std::string::npos)
    return ~uint64_t{0};
  return std::stoull(body.substr(pos + name.size() + 2));
}

// Polls (every 20 ms, at most `timeout`) until the sample equals `want`;
// returns the last value read.
inline uint64_t wait_metric(api_client& c, const std::string& name, uint64_t want,
                            std::chrono::milliseconds timeout = std::chrono::seconds{10}) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto value = metric(c, name);
    if (value == want || std::chrono::steady_clock::now() >= deadline)
      return value;
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
}

} // namespace evmesh::test
