// The webhook part of the HTTP API: /v1/endpoints (create, list, read,
// patch, delete, rotate-secret, attempts, replay) and the per-endpoint
// "deliveries" of GET /v1/events/{id}. http_api.cpp routes here after
// authenticating; the work happens in the controller (endpoint records), the
// delivery manager (replay) and the store writer (attempt log, delivery state).
#pragma once

#include "http/admin_call.hpp"
#include "http/http_api.hpp"

#include <functional>
#include <map>
#include <string>

namespace evmesh {

// Answers one /v1/endpoints call; the caller has checked the token is admin.
void handle_endpoint_call(const http_api_context& ctx, admin_call call, http::responder respond);

// The JSON array of per-endpoint delivery states of `e`, passed to `done`
// (inside the gateway `gw`).
void render_event_deliveries(caf::event_based_actor* gw, const http_api_context& ctx, const event& e,
                             std::function<void(std::string)> done);

} // namespace evmesh
