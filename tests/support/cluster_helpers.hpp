// What the multi-node tests ask of running nodes: wait for a condition
// (polling a cheap query, bounded), read GET /v1/cluster, a metric, and
// whether one node's link to a peer carries a pattern of interest.
#pragma once

#include "support/api_client.hpp"
#include "support/node_process.hpp"

#include <chrono>
#include <string>
#include <thread>

namespace evmesh::test {

template <class Predicate>
bool eventually(Predicate done, std::chrono::milliseconds timeout = std::chrono::seconds{30}) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done())
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds{20});  // polling interval, not synchronisation
  }
  return done();
}

// GET /v1/cluster (needs an admin token); an empty object on failure.
inline nlohmann::json cluster_state(const node_process& n, const std::string& token) {
  auto r = api_client(n.url(), token).get("/v1/cluster");
  return r.status == 200 ? r.json() : nlohmann::json::object();
}

inline std::size_t alive_members(const node_process& n, const std::string& token) {
  std::size_t alive = 0;
  for (const auto& m : cluster_state(n, token).value("members", nlohmann::json::array()))
    alive += m["state"] == "alive" ? 1 : 0;
  return alive;
}

// Whether `publisher`'s link to the member named `peer` carries `pattern`.
inline bool peer_wants(const node_process& publisher, const std::string& token, const std::string& peer,
                       const std::string& pattern) {
  for (const auto& m : cluster_state(publisher, token).value("members", nlohmann::json::array()))
    if (m["name"] == peer && m["link"]["connected"] == true)
      for (const auto& p : m["link"]["interest"])
        if (p == pattern)
          return true;
  return false;
}

// A counter or gauge from /metrics; ~0 when absent.
inline uint64_t metric(const node_process& n, const std::string& name) {
  auto body = api_client(n.url(), "").get("/metrics").body;
  auto pos = body.find("\n" + name + " ");
  return pos == std::string::npos ? ~uint64_t{0} : std::stoull(body.substr(pos + name.size() + 2));
}

} // namespace evmesh::test
