// See endpoint.hpp.
#include "model/endpoint.hpp"

#include "model/api_fields.hpp"
#include "base/url_target.hpp"
#include "base/webhook_signature.hpp"

#include <evmesh/event.hpp>
#include <evmesh/topic.hpp>

#include <algorithm>
#include <cmath>

namespace evmesh {
namespace {

using json = nlohmann::json;

// Headers evmesh sets itself; an endpoint may not override them.
bool is_reserved_header(const std::string& name) {
  return name.rfind("webhook-", 0) == 0 || name == "content-type" || name == "content-length" ||
         name == "host" || name == "user-agent" || name == "transfer-encoding" || name == "connection";
}

std::string apply_url(endpoint_config& ep, const json& v, bool allow_private) {
  if (!v.is_string())
    return "\"url\" must be a string";
  auto url = v.get<std::string>();
  if (auto why = check_http_url(url); !why.empty())
    return "\"url\": " + why;
  if (auto why = refuse_literal_host(url, allow_private); !why.empty())
    return "\"url\": " + why;
  ep.url = std::move(url);
  return {};
}

} // namespace

std::string make_endpoint_id() { return "ep_" + make_event_id(); }

std::string apply_endpoint_fields(endpoint_config& ep, const json& body, bool create, bool allow_private) {
  if (!body.is_object())
    return "the body must be a JSON object";
  static const std::vector<std::string> known{"url", "topics", "secret", "description", "rate_limit",
                                              "headers", "disabled", "max_in_flight"};
  if (auto why = unknown_field(body, known); !why.empty())
    return why;
  if (create && !body.contains("url"))
    return "\"url\" is required";
  if (create && !body.contains("topics"))
    return "\"topics\" is required (an array of patterns, e.g. [\"orders.*\"])";
  std::string why;
  if (body.contains("url") && !(why = apply_url(ep, body["url"], allow_private)).empty())
    return why;
  if (body.contains("topics") && !(why = read_patterns(body["topics"], "topics", ep.topics)).empty())
    return why;
  if (body.contains("headers") && !(why = read_headers(body["headers"], is_reserved_header, ep.headers)).empty())
    return why;
  if (body.contains("secret")) {
    if (!create)
      return "\"secret\" cannot be patched; use POST /v1/endpoints/{id}/rotate-secret";
    const auto& v = body["secret"];
    if (!v.is_string() || !webhook_secret_key(v.get<std::string>(), why))
      return "\"secret\": " + (why.empty() ? std::string("must be a string") : why);
    ep.secrets = {{v.get<std::string>(), 0}};
  }
  if (body.contains("description") && !(why = read_description(body["description"], ep.description)).empty())
    return why;
  if (body.contains("rate_limit")) {
    const auto& v = body["rate_limit"];
    if (v.is_null())
      ep.rate_limit = 0;
    else if (!v.is_number() || !(v.get<double>() >= 0) || !std::isfinite(v.get<double>()) || v.get<double>() > 1e6)
      return "\"rate_limit\" must be a number of attempts per second (0 < r <= 1000000), or null for none";
    else
      ep.rate_limit = v.get<double>();
  }
  if (body.contains("disabled")) {
    if (!body["disabled"].is_boolean())
      return "\"disabled\" must be true or false";
    ep.disabled = body["disabled"].get<bool>();
    ep.disabled_reason = ep.disabled ? "disabled through the API" : "";
  }
  if (body.contains("max_in_flight")) {
    const auto& v = body["max_in_flight"];
    if (!v.is_number_integer() || v.get<int64_t>() < 1 || v.get<int64_t>() > max_max_in_flight)
      return "\"max_in_flight\" must be an integer from 1 (FIFO) to " + std::to_string(max_max_in_flight);
    ep.max_in_flight = static_cast<uint32_t>(v.get<int64_t>());
  }
  if (ep.secrets.empty())
    ep.secrets = {{make_webhook_secret(), 0}};
  return {};
}

std::vector<std::string> live_secret_keys(const endpoint_config& ep, int64_t now) {
  std::vector<std::string> keys;
  for (const auto& s : ep.secrets) {
    if (s.expires_us != 0 && s.expires_us <= now)
      continue;
    std::string error;
    if (auto key = webhook_secret_key(s.secret, error))
      keys.push_back(std::move(*key));
  }
  return keys;
}

bool drop_expired_secrets(endpoint_config& ep, int64_t now) {
  auto before = ep.secrets.size();
  std::erase_if(ep.secrets, [now](const endpoint_secret& s) { return s.expires_us != 0 && s.expires_us <= now; });
  return ep.secrets.size() != before;
}

registry_record to_record(const endpoint_config& ep) {
  json secrets = json::array();
  for (const auto& s : ep.secrets)
    secrets.push_back({{"secret", s.secret}, {"expires_us", s.expires_us}});
  json body{{"url", ep.url},
            {"topics", ep.topics},
            {"secrets", secrets},
            {"description", ep.description},
            {"rate_limit", ep.rate_limit},
            {"headers", ep.headers},
            {"disabled", ep.disabled},
            {"disabled_reason", ep.disabled_reason},
            {"max_in_flight", ep.max_in_flight},
            {"created_us", ep.created_us},
            {"updated_us", ep.updated_us}};
  return {"endpoint", ep.id, body.dump(), ep.version};
}

endpoint_config endpoint_from_record(const registry_record& record) {
  auto body = json::parse(record.body);
  endpoint_config ep;
  ep.id = record.id;
  ep.version = record.version;
  ep.url = body.at("url").get<std::string>();
  ep.topics = body.at("topics").get<std::vector<std::string>>();
  for (const auto& s : body.at("secrets"))
    ep.secrets.push_back({s.at("secret").get<std::string>(), s.at("expires_us").get<int64_t>()});
  ep.description = body.value("description", "");
  ep.rate_limit = body.value("rate_limit", 0.0);
  ep.headers = body.value("headers", std::map<std::string, std::string>{});
  ep.disabled = body.value("disabled", false);
  ep.disabled_reason = body.value("disabled_reason", "");
  ep.max_in_flight = body.value("max_in_flight", default_max_in_flight);
  ep.created_us = body.value("created_us", int64_t{0});
  ep.updated_us = body.value("updated_us", int64_t{0});
  return ep;
}

json render_endpoint(const endpoint_config& ep, bool with_secret) {
  json out{{"id", ep.id},
           {"url", ep.url},
           {"topics", ep.topics},
           {"description", ep.description},
           {"rate_limit", ep.rate_limit > 0 ? json(ep.rate_limit) : json(nullptr)},
           {"headers", ep.headers},
           {"disabled", ep.disabled},
           {"max_in_flight", ep.max_in_flight},
           {"created", format_rfc3339(ep.created_us)},
           {"updated", format_rfc3339(ep.updated_us)},
           {"version", ep.version}};
  if (ep.disabled)
    out["disabled_reason"] = ep.disabled_reason;
  if (with_secret && !ep.secrets.empty())
    out["secret"] = ep.secrets.front().secret;
  return out;
}

} // namespace evmesh
