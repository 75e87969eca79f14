// See curve.hpp. The secret key is SHA-256 of a domain prefix and the
// cluster key (any length of key works); the public key follows from it.
#include "cluster/curve.hpp"

#include <openssl/sha.h>

#include <stdexcept>
#include <vector>

namespace evmesh::cluster {

curve_keys derive_curve_keys(std::string_view cluster_key) {
  std::string input = "evmesh cluster key v1\n";
  input.append(cluster_key);
  curve_keys keys;
  keys.secret_key.resize(SHA256_DIGEST_LENGTH);
  SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(),
         reinterpret_cast<unsigned char*>(keys.secret_key.data()));
  char secret_z85[41] = {}, public_z85[41] = {};
  zmq_z85_encode(secret_z85, reinterpret_cast<const uint8_t*>(keys.secret_key.data()), 32);
  if (zmq_curve_public(public_z85, secret_z85) != 0)
    throw std::runtime_error("this libzmq has no CURVE support (built without libsodium)");
  keys.public_key.resize(32);
  zmq_z85_decode(reinterpret_cast<uint8_t*>(keys.public_key.data()), public_z85);
  return keys;
}

void make_curve_server(zmq::socket_t& socket, const curve_keys& keys) {
  socket.set(zmq::sockopt::curve_server, 1);
  socket.set(zmq::sockopt::curve_secretkey, zmq::const_buffer(keys.secret_key.data(), 32));
  socket.set(zmq::sockopt::zap_domain, "evmesh");
}

void make_curve_client(zmq::socket_t& socket, const curve_keys& keys) {
  socket.set(zmq::sockopt::curve_serverkey, zmq::const_buffer(keys.public_key.data(), 32));
  socket.set(zmq::sockopt::curve_publickey, zmq::const_buffer(keys.public_key.data(), 32));
  socket.set(zmq::sockopt::curve_secretkey, zmq::const_buffer(keys.secret_key.data(), 32));
}

zmq::socket_t bind_zap_handler(zmq::context_t& context) {
  zmq::socket_t zap{context, zmq::socket_type::rep};
  zap.set(zmq::sockopt::linger, 0);
  zap.bind("inproc://zeromq.zap.01");
  return zap;
}

bool answer_zap_request(zmq::socket_t& zap, const curve_keys& keys) {
  // Request: version, request id, domain, address, routing id, mechanism,
  // then the mechanism's credentials (CURVE: the client's public key).
  std::vector<zmq::message_t> parts;
  for (int i = 0; i < 16; ++i) {
    zmq::message_t part;
    if (!zap.recv(part, zmq::recv_flags::dontwait))
      break;
    bool more = part.more();
    parts.push_back(std::move(part));
    if (!more)
      break;
  }
  if (parts.empty())
    return true;
  bool ok = parts.size() >= 7 && parts[5].to_string_view() == "CURVE"
            && parts[6].to_string_view() == keys.public_key;
  auto request_id = parts.size() >= 2 ? parts[1].to_string() : std::string{};
  zap.send(zmq::buffer(std::string_view{"1.0"}), zmq::send_flags::sndmore);
  zap.send(zmq::buffer(request_id), zmq::send_flags::sndmore);
  zap.send(zmq::buffer(std::string_view{ok ? "200" : "400"}), zmq::send_flags::sndmore);
  zap.send(zmq::buffer(std::string_view{ok ? "OK" : "not a member of this cluster"}),
           zmq::send_flags::sndmore);
  zap.send(zmq::buffer(std::string_view{}), zmq::send_flags::sndmore);  // user id
  zap.send(zmq::buffer(std::string_view{}), zmq::send_flags::none);     // metadata
  return ok;
}

} // namespace evmesh::cluster
