// The inbound part of the HTTP API: /v1/sources (create, list, read, patch,
// delete; admin token, checked by http_api.cpp) answered by the controller,
// which owns the source records, and POST /v1/ingest/{source} (no token: the
// sender proves itself by its signature), verified on the io thread against
// the controller's source snapshot and published through the publisher like
// POST /v1/events: the 202 follows durability.
#pragma once

#include "http/admin_call.hpp"
#include "http/http_api.hpp"

namespace evmesh {

// Answers one /v1/sources call; the caller has checked the token is admin.
void handle_source_call(const http_api_context& ctx, admin_call call, http::responder respond);

// Answers POST /v1/ingest/{name}.
void handle_ingest(const http_api_context& ctx, const std::string& name, http::request&& req,
                   http::responder respond);

} // namespace evmesh
