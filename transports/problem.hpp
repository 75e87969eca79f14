// RFC 9457 problem details: every HTTP error evmesh answers is
// application/problem+json with type, title, status and a detail that says
// what is wrong.
#pragma once

#include "transports/http_server.hpp"

#include <string_view>

namespace evmesh::http {

// {"type":"about:blank","title":<reason phrase>,"status":N,"detail":detail}
response make_problem(boost::beast::http::status status, std::string_view detail,
                      unsigned http_version = 11, bool keep_alive = true);

} // namespace evmesh::http
