// See bridge_config.hpp.
#include "model/bridge_config.hpp"

#include "model/api_fields.hpp"
#include "base/url_target.hpp"

#include <evmesh/event.hpp>
#include <evmesh/topic.hpp>

#include <algorithm>

namespace evmesh {
namespace {

using json = nlohmann::json;

constexpr std::size_t max_subscribe_bytes = 64 * 1024;

// Headers the WebSocket upgrade sets itself.
bool is_reserved_upgrade_header(const std::string& name) {
  return name.rfind("sec-websocket-", 0) == 0 || name == "host" || name == "connection" || name == "upgrade" ||
         name == "user-agent" || name == "content-length" || name == "transfer-encoding";
}

std::string apply_url(bridge_config& br, const json& v, bool allow_private) {
  if (!v.is_string())
    return "\"url\" must be a string";
  auto url = v.get<std::string>();
  std::string why;
  parse_url_target(url, url_family::websocket, why);
  if (why.empty())
    why = refuse_literal_host(url, allow_private);
  if (!why.empty())
    return "\"url\": " + why;
  br.url = std::move(url);
  return {};
}

std::string apply_subscribe(bridge_config& br, const json& v) {
  if (!v.is_array() || v.size() > max_bridge_subscribe_messages)
    return "\"subscribe\" must be an array of at most " + std::to_string(max_bridge_subscribe_messages) +
           " messages (strings, or JSON values sent as their JSON text)";
  std::vector<std::string> messages;
  for (const auto& m : v) {
    auto text = m.is_string() ? m.get<std::string>() : m.dump();
    if (text.empty() || text.size() > max_subscribe_bytes)
      return "every \"subscribe\" message must be 1 to " + std::to_string(max_subscribe_bytes) + " bytes";
    messages.push_back(std::move(text));
  }
  br.subscribe = std::move(messages);
  return {};
}

// The fields that belong to the other direction are refused, so a typo does
// not silently do nothing.
std::string check_direction_fields(const bridge_config& br, const json& body) {
  if (br.direction == bridge_direction::inbound && body.contains("topics"))
    return "\"topics\" is for outbound bridges; an inbound bridge publishes on \"topic\"";
  if (br.direction == bridge_direction::outbound && (body.contains("topic") || body.contains("subscribe")))
    return "\"topic\" and \"subscribe\" are for inbound bridges; an outbound bridge forwards \"topics\"";
  return {};
}

} // namespace

const char* to_string(bridge_direction d) { return d == bridge_direction::inbound ? "inbound" : "outbound"; }

std::string make_bridge_id() { return "br_" + make_event_id(); }

std::string apply_bridge_fields(bridge_config& br, const json& body, bool create, bool allow_private) {
  if (!body.is_object())
    return "the body must be a JSON object";
  static const std::vector<std::string> known{"url",     "direction", "topic",       "subscribe",
                                              "topics",  "headers",   "description", "disabled"};
  if (auto why = unknown_field(body, known); !why.empty())
    return why;
  if (create && !body.contains("url"))
    return "\"url\" is required (ws:// or wss://)";
  if (create) {
    if (!body.contains("direction"))
      return "\"direction\" is required: \"inbound\" (server → mesh) or \"outbound\" (mesh → server)";
    const auto& d = body["direction"];
    if (d != "inbound" && d != "outbound")
      return "\"direction\" must be \"inbound\" or \"outbound\"";
    br.direction = d == "inbound" ? bridge_direction::inbound : bridge_direction::outbound;
    if (br.direction == bridge_direction::inbound && !body.contains("topic"))
      return "\"topic\" is required for an inbound bridge (where what arrives is published)";
    if (br.direction == bridge_direction::outbound && !body.contains("topics"))
      return "\"topics\" is required for an outbound bridge (an array of patterns, e.g. [\"orders.*\"])";
  } else if (body.contains("direction") && body["direction"] != to_string(br.direction)) {
    return "\"direction\" cannot be changed; create a new bridge";
  }
  std::string why;
  if (!(why = check_direction_fields(br, body)).empty())
    return why;
  if (body.contains("url") && !(why = apply_url(br, body["url"], allow_private)).empty())
    return why;
  if (body.contains("topic")) {
    const auto& v = body["topic"];
    if (!v.is_string() || !is_valid_topic(v.get<std::string>()))
      return "\"topic\" must be a topic (dot-separated tokens of [A-Za-z0-9_-], at most 255 bytes)";
    br.topic = v.get<std::string>();
  }
  if (body.contains("subscribe") && !(why = apply_subscribe(br, body["subscribe"])).empty())
    return why;
  if (body.contains("topics") && !(why = read_patterns(body["topics"], "topics", br.topics)).empty())
    return why;
  if (body.contains("headers") && !(why = read_headers(body["headers"], is_reserved_upgrade_header, br.headers)).empty())
    return why;
  if (body.contains("description") && !(why = read_description(body["description"], br.description)).empty())
    return why;
  if (body.contains("disabled")) {
    if (!body["disabled"].is_boolean())
      return "\"disabled\" must be true or false";
    br.disabled = body["disabled"].get<bool>();
  }
  return {};
}

registry_record to_record(const bridge_config& br) {
  if (br.deleted)
    return {bridge_record_kind, br.id, {}, br.version};  // a tombstone (registry_record::deleted)
  json body{{"url", br.url},
            {"direction", to_string(br.direction)},
            {"topic", br.topic},
            {"subscribe", br.subscribe},
            {"topics", br.topics},
            {"headers", br.headers},
            {"description", br.description},
            {"disabled", br.disabled},
            {"created_us", br.created_us},
            {"updated_us", br.updated_us}};
  return {bridge_record_kind, br.id, body.dump(), br.version};
}

bridge_config bridge_from_record(const registry_record& record) {
  bridge_config br;
  br.id = record.id;
  br.version = record.version;
  br.deleted = record.deleted();
  if (br.deleted)
    return br;
  auto body = json::parse(record.body);
  br.url = body.at("url").get<std::string>();
  br.direction = body.at("direction") == "outbound" ? bridge_direction::outbound : bridge_direction::inbound;
  br.topic = body.value("topic", "");
  br.subscribe = body.value("subscribe", std::vector<std::string>{});
  br.topics = body.value("topics", std::vector<std::string>{});
  br.headers = body.value("headers", std::map<std::string, std::string>{});
  br.description = body.value("description", "");
  br.disabled = body.value("disabled", false);
  br.created_us = body.value("created_us", int64_t{0});
  br.updated_us = body.value("updated_us", int64_t{0});
  return br;
}

json render_bridge(const bridge_config& br) {
  json headers = json::object();
  for (const auto& [name, value] : br.headers)
    headers[name] = "***";
  json out{{"id", br.id},
           {"url", br.url},
           {"direction", to_string(br.direction)},
           {"headers", headers},
           {"description", br.description},
           {"disabled", br.disabled},
           {"created", format_rfc3339(br.created_us)},
           {"updated", format_rfc3339(br.updated_us)},
           {"version", br.version}};
  if (br.direction == bridge_direction::inbound) {
    out["topic"] = br.topic;
    out["subscribe"] = br.subscribe;
  } else {
    out["topics"] = br.topics;
  }
  return out;
}

} // namespace evmesh
