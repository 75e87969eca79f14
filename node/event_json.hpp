// Events in JSON, as the HTTP API speaks them.
// In: the bodies POST /v1/events accepts — evmesh's own `{"topic","data",
// "id"?,"headers"?}` or an array of them, CloudEvents 1.0 structured mode
// (`application/cloudevents+json`, or an array with
// `application/cloudevents-batch+json`) and binary mode (`ce-type`, `ce-id`
// headers, the body is the data).
// Out: `{"id","topic","time","seq","data"|"data_base64","headers"?}`.
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

// One event as a JSON object.
std::string render_event(const event& e);

// One event as the WebSocket edge (and an outbound bridge) sends it:
// `{"op":"event","id","topic","time","seq","data"|"data_base64","headers"?}`.
std::string render_event_message(const event& e);

} // namespace evmesh
