// The events the HTTP edge accepts: the bodies POST /v1/events takes —
// evmesh's own `{"topic","data","id"?,"headers"?}` or an array of them,
// CloudEvents 1.0 structured mode (`application/cloudevents+json`, or an
// array with `application/cloudevents-batch+json`) and binary mode
// (`ce-type`, `ce-id` headers, the body is the data) — and the one event
// object a WebSocket client publishes.
#pragma once

#include "transports/http_server.hpp"

#include <evmesh/event.hpp>

#include <nlohmann/json_fwd.hpp>

#include <string>
#include <vector>

namespace evmesh {

struct parsed_publish {
  std::vector<event> drafts;
  bool batch = false;  // the caller sent an array, so it gets an array back
  std::string error;   // what is wrong (then drafts is meaningless)
};

// Drafts carry topic, id (maybe empty), data (compact JSON unless binary)
// and headers; topic and id are checked too.
parsed_publish parse_publish_request(const http::request& req);

// One event in evmesh's own form `{"topic","data","id"?,"headers"?}` (other
// members are ignored), checked as a published one is: empty when valid,
// else what is wrong. For publishers that are not HTTP bodies (WebSocket).
std::string read_event_object(const nlohmann::json& object, event& draft);

} // namespace evmesh
