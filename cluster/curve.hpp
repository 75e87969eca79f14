// Link encryption and peer authentication with ZeroMQ CURVE, from one shared
// secret (`--cluster-key`). Every node derives the same key pair from it:
// listeners are CURVE servers with that pair, links are CURVE clients with
// it, and the listener's ZAP handler accepts only clients that prove they
// hold that pair's secret key. A peer without the key cannot complete the
// handshake in either direction. The key never appears in logs.
#pragma once

#include <zmq.hpp>

#include <string>
#include <string_view>

namespace evmesh::cluster {

struct curve_keys {
  std::string public_key;  // 32 bytes
  std::string secret_key;  // 32 bytes
};

// The key pair every node with this cluster key shares.
curve_keys derive_curve_keys(std::string_view cluster_key);

void make_curve_server(zmq::socket_t& socket, const curve_keys& keys);
void make_curve_client(zmq::socket_t& socket, const curve_keys& keys);

// Binds the ZAP handler socket (must exist before the server socket binds).
zmq::socket_t bind_zap_handler(zmq::context_t& context);
// Answers one waiting ZAP request: 200 for the cluster's key, 400 otherwise.
// Returns false when the request was refused.
bool answer_zap_request(zmq::socket_t& zap, const curve_keys& keys);

} // namespace evmesh::cluster
