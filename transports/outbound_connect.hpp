// What every outbound client of the node (webhook deliveries, WebSocket
// bridges) does the same way before it sends a byte: keep only the resolved
// addresses the SSRF guard allows (the socket then connects to exactly
// those), and set up TLS with certificate verification against the system
// store (plus an optional CA file), host name verification and SNI.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>

#include <string>
#include <vector>

namespace evmesh {

// The resolved addresses a client may connect to; when none, `refusal` says
// why (the first refused address) or is empty when there were none at all.
std::vector<boost::asio::ip::tcp::endpoint> allowed_endpoints(
  const boost::asio::ip::tcp::resolver::results_type& results, bool allow_private, std::string& refusal);

// A client TLS context that verifies peers (system store, plus `ca_file`
// when given). Throws boost::system::system_error on an unreadable CA file.
boost::asio::ssl::context make_verifying_tls_context(const std::string& ca_file);

// Sets SNI and host name verification for `host` on a TLS stream; false
// when OpenSSL refuses the name.
template <class TlsStream>
bool expect_tls_host(TlsStream& stream, const std::string& host) {
  if (!SSL_set_tlsext_host_name(stream.native_handle(), host.c_str()))
    return false;
  stream.set_verify_callback(boost::asio::ssl::host_name_verification(host));
  return true;
}

} // namespace evmesh
