// The bridge part of the HTTP API: /v1/bridges (create, list) and
// /v1/bridges/{id} (read, patch, delete). http_api.cpp routes here after
// checking the token is admin; the bridge manager does the work and answers
// with the status and body.
#pragma once

#include "http/admin_call.hpp"
#include "http/http_api.hpp"

namespace evmesh {

void handle_bridge_call(const http_api_context& ctx, admin_call call, http::responder respond);

} // namespace evmesh
