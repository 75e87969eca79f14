// See outbound_connect.hpp.
#include "transports/outbound_connect.hpp"

#include "base/ssrf_guard.hpp"

namespace evmesh {

std::vector<boost::asio::ip::tcp::endpoint> allowed_endpoints(
  const boost::asio::ip::tcp::resolver::results_type& results, bool allow_private, std::string& refusal) {
  std::vector<boost::asio::ip::tcp::endpoint> checked;
  for (const auto& entry : results) {
    auto why = refuse_target_address(entry.endpoint().address(), allow_private);
    if (why.empty())
      checked.push_back(entry.endpoint());
    else if (refusal.empty())
      refusal = why;
  }
  return checked;
}

boost::asio::ssl::context make_verifying_tls_context(const std::string& ca_file) {
  boost::asio::ssl::context context{boost::asio::ssl::context::tls_client};
  context.set_default_verify_paths();
  if (!ca_file.empty())
    context.load_verify_file(ca_file);
  context.set_verify_mode(boost::asio::ssl::verify_peer);
  return context;
}

} // namespace evmesh
