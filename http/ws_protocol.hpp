// evmesh's WebSocket protocol (GET /v1/ws), on top of transports/ws_session.
// JSON text messages, client → node:
//   {"op":"subscribe","topic":PATTERN,"since"?:SEQ}  {"op":"unsubscribe","topic":PATTERN}
//   {"op":"publish","topic","data","id"?,"headers"?}  {"op":"ping"}
// node → client:
//   {"op":"subscribed","topic"}  {"op":"unsubscribed","topic"}
//   {"op":"event","id","topic","time","seq","data"|"data_base64","headers"?}
//   {"op":"ack","id","seq","duplicate"?}  {"op":"pong"}
//   {"op":"error","code","message","topic"?,"id"?}
// Each subscription is an event_feed (the same subscribe / replay / live
// path as SSE), so `since` resumes without gap or duplicate. Publishes go to
// the publisher like POST /v1/events and are acked once durable. Scopes are
// those of the token that opened the connection. Every message is checked;
// a bad one gets an error message (codes as in HTTP: 400, 403, 404, 409,
// 429, 503) and the connection goes on. A client that falls behind is closed
// with 1013 by the session's bounded queue (or here, if its subscription
// falls behind the router).
#pragma once

#include "model/auth.hpp"
#include "actors/event_feed.hpp"
#include "actors/probes.hpp"
#include "http/http_probe.hpp"
#include "transports/http_server.hpp"
#include "transports/ws_session.hpp"

#include <memory>

namespace evmesh {

struct ws_context {
  event_feed_context feed;
  publisher_actor publisher;
  ws::options transport;
  http_probe* probe = nullptr;
  store_probe* publishing = nullptr;  // events refused by validation
};

struct ws_endpoint_state;

// Per node: serves every WebSocket connection, and renders each event's
// message once for all of them.
class ws_endpoint {
public:
  explicit ws_endpoint(ws_context context);
  ~ws_endpoint();
  ws_endpoint(const ws_endpoint&) = delete;
  ws_endpoint& operator=(const ws_endpoint&) = delete;

  // Takes over the connection of `req` (an authenticated upgrade request
  // whose token has `scopes`) and speaks the protocol on it.
  void serve(http::request req, const http::responder& respond, scope_list scopes);

private:
  std::shared_ptr<ws_endpoint_state> state_;
};

} // namespace evmesh
