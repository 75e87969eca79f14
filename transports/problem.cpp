// Builds RFC 9457 problem+json responses, so every HTTP error evmesh sends
// (from the server core and from the API handlers alike) has the same shape.
#include "transports/problem.hpp"

#include <nlohmann/json.hpp>

#include <string>

namespace evmesh::http {

namespace beast_http = boost::beast::http;

response make_problem(beast_http::status status, std::string_view detail,
                      unsigned http_version, bool keep_alive) {
  const auto reason = beast_http::obsolete_reason(status);
  const nlohmann::json body = {
      {"type", "about:blank"},
      {"title", std::string(reason.data(), reason.size())},
      {"status", static_cast<unsigned>(status)},
      {"detail", std::string(detail)},
  };

  response res{status, http_version};
  res.set(beast_http::field::content_type, "application/problem+json");
  // A detail may quote client input; invalid UTF-8 must not make us throw.
  res.body() = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  res.keep_alive(keep_alive);
  res.prepare_payload();
  return res;
}

} // namespace evmesh::http
