// Events in JSON, as every edge sends them:
// `{"id","topic","time","seq","data"|"data_base64","headers"?}` (the HTTP
// API, SSE) and the same with `"op":"event"` first (WebSocket, outbound
// bridges). What the edges accept is http/publish_request.hpp.
#pragma once

#include <evmesh/event.hpp>

#include <string>

namespace evmesh {

// One event as a JSON object.
std::string render_event(const event& e);

// One event as the WebSocket edge (and an outbound bridge) sends it:
// `{"op":"event","id","topic","time","seq","data"|"data_base64","headers"?}`.
std::string render_event_message(const event& e);

} // namespace evmesh
