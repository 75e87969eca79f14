// See source.hpp.
#include "model/source.hpp"

#include "model/api_fields.hpp"
#include "base/webhook_signature.hpp"

#include <evmesh/event.hpp>
#include <evmesh/topic.hpp>

#include <algorithm>

namespace evmesh {
namespace {

using json = nlohmann::json;

bool is_name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'; }

bool is_header_name(const std::string& name) {
  return !name.empty() && name.size() <= 128 && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

// A topic (or, with `prefix_only`, the start of one) that clients may publish.
std::string check_publishable(const std::string& topic, bool prefix_only, const char* what) {
  auto sample = prefix_only ? topic + "x" : topic;
  if (auto why = check_topic(sample); !why.empty())
    return std::string(what) + ": " + (prefix_only ? "\"" + topic + "\" cannot start a topic (" + why + ")" : why);
  if (is_registry_topic(sample))
    return std::string(what) + ": topics under \"" + std::string(registry_topic_prefix) + "\" are reserved";
  return {};
}

std::string apply_name(source_config& s, const json& v) {
  if (!v.is_string())
    return "\"name\" must be a string";
  auto name = v.get<std::string>();
  if (name.empty() || name.size() > max_source_name_bytes || !std::all_of(name.begin(), name.end(), is_name_char))
    return "\"name\" must be 1 to " + std::to_string(max_source_name_bytes) +
           " characters of A-Z, a-z, 0-9, '_' and '-' (it is part of the ingest URL)";
  s.name = std::move(name);
  return {};
}

std::string apply_topic(source_config& s, const json& v) {
  if (v.is_string()) {
    if (auto why = check_publishable(v.get<std::string>(), false, "\"topic\""); !why.empty())
      return why;
    s.topic = v.get<std::string>();
    s.topic_header = s.topic_field = s.topic_prefix = "";
    return {};
  }
  const char* shape =
    "\"topic\" must be a topic, {\"header\": NAME, \"prefix\"?: TEXT} or {\"field\": PATH, \"prefix\"?: TEXT}";
  if (!v.is_object() || v.contains("header") == v.contains("field"))
    return shape;
  for (const auto& [key, value] : v.items())
    if ((key != "header" && key != "field" && key != "prefix") || !value.is_string())
      return shape;
  auto prefix = v.value("prefix", "");
  if (!prefix.empty())
    if (auto why = check_publishable(prefix, true, "\"topic\".\"prefix\""); !why.empty())
      return why;
  std::string header, field;
  if (v.contains("header")) {
    header = v["header"].get<std::string>();
    if (!is_header_name(header))
      return "\"topic\".\"header\": \"" + header + "\" is not a valid header name";
  } else {
    field = v["field"].get<std::string>();
    if (field.empty() || field.front() == '.' || field.back() == '.' || field.find("..") != std::string::npos ||
        field.size() > 255)
      return "\"topic\".\"field\" must be a path of member names separated by dots, e.g. \"type\" or "
             "\"data.kind\"";
  }
  s.topic.clear();
  s.topic_header = std::move(header);
  s.topic_field = std::move(field);
  s.topic_prefix = std::move(prefix);
  return {};
}

std::string apply_verifier(source_config& s, const json& v) {
  if (!v.is_object() || !v.contains("type") || !v["type"].is_string())
    return "\"verifier\" must be an object with a \"type\": standard_webhooks, github, stripe, hmac_sha256 or none";
  inbound::scheme kind;
  if (!inbound::parse_scheme(v["type"].get<std::string>(), kind))
    return "\"verifier\".\"type\" must be standard_webhooks, github, stripe, hmac_sha256 or none, not \"" +
           v["type"].get<std::string>() + "\"";
  bool generic = kind == inbound::scheme::hmac_sha256;
  for (const auto& [key, value] : v.items()) {
    bool known = key == "type" || (key == "secret" && kind != inbound::scheme::none) ||
                 (generic && (key == "header" || key == "encoding" || key == "prefix"));
    if (!known)
      return "\"verifier\": \"" + key + "\" does not apply to type " + v["type"].get<std::string>();
    if (!value.is_string())
      return "\"verifier\".\"" + key + "\" must be a string";
  }
  source_config out = s;
  out.verifier = kind;
  out.secret = v.value("secret", "");
  out.signature_header = out.signature_prefix = "";
  out.signature_encoding = inbound::encoding::hex;
  if (kind == inbound::scheme::stripe && out.secret.empty())
    return "\"verifier\".\"secret\" is required for stripe: the endpoint's signing secret from Stripe (whsec_...)";
  std::string error;
  if (kind == inbound::scheme::standard_webhooks && !out.secret.empty() && !webhook_secret_key(out.secret, error))
    return "\"verifier\".\"secret\": " + error;
  if (out.secret.size() > 1024)
    return "\"verifier\".\"secret\" must be at most 1024 bytes";
  if (out.secret.empty() && kind != inbound::scheme::none)
    out.secret = make_webhook_secret();
  if (generic) {
    out.signature_header = v.value("header", "");
    if (!is_header_name(out.signature_header))
      return "\"verifier\".\"header\" (the header carrying the signature) is required and must be a header name";
    auto encoding = v.value("encoding", "hex");
    if (encoding != "hex" && encoding != "base64")
      return "\"verifier\".\"encoding\" must be \"hex\" or \"base64\"";
    out.signature_encoding = encoding == "hex" ? inbound::encoding::hex : inbound::encoding::base64;
    out.signature_prefix = v.value("prefix", "");
    if (out.signature_prefix.size() > 64 || out.signature_prefix.find_first_of("\r\n") != std::string::npos)
      return "\"verifier\".\"prefix\" must be at most 64 bytes on one line";
  }
  if (kind != inbound::scheme::hmac_sha256 && kind != inbound::scheme::none)
    out.id_header.clear();  // the scheme names its delivery id itself
  s = std::move(out);
  return {};
}

std::string apply_id_header(source_config& s, const json& v) {
  if (s.verifier != inbound::scheme::hmac_sha256 && s.verifier != inbound::scheme::none)
    return "\"id_header\" applies only to verifiers hmac_sha256 and none; " +
           std::string(inbound::scheme_name(s.verifier)) + " names its delivery id itself";
  if (v.is_null()) {
    s.id_header.clear();
    return {};
  }
  if (!v.is_string() || !is_header_name(v.get<std::string>()))
    return "\"id_header\" must be a header name (or null for none)";
  s.id_header = v.get<std::string>();
  return {};
}

std::string mask(const std::string& secret) {
  if (secret.empty())
    return "";
  bool whsec = secret.rfind(webhook_secret_prefix, 0) == 0;
  std::string out = whsec ? std::string(webhook_secret_prefix) : std::string{};
  out += "****";
  if (secret.size() >= 20)
    out += secret.substr(secret.size() - 4);
  return out;
}

} // namespace

std::string apply_source_fields(source_config& source, const json& body, bool create) {
  if (!body.is_object())
    return "the body must be a JSON object";
  if (auto why = unknown_field(body, {"name", "topic", "verifier", "id_header", "description"}); !why.empty())
    return why;
  if (create) {
    for (const char* required : {"name", "topic", "verifier"})
      if (!body.contains(required))
        return "\"" + std::string(required) + "\" is required";
  } else if (body.contains("name")) {
    return "\"name\" cannot be changed: it is the source's id";
  }
  std::string why;
  if (body.contains("name") && !(why = apply_name(source, body["name"])).empty())
    return why;
  if (body.contains("topic") && !(why = apply_topic(source, body["topic"])).empty())
    return why;
  if (body.contains("verifier") && !(why = apply_verifier(source, body["verifier"])).empty())
    return why;
  if (body.contains("id_header") && !(why = apply_id_header(source, body["id_header"])).empty())
    return why;
  if (body.contains("description"))
    return read_description(body["description"], source.description);
  return {};
}

registry_record to_record(const source_config& s) {
  if (s.deleted)
    return {"source", s.name, {}, s.version};  // a tombstone (registry_record::deleted)
  json body{{"topic", s.topic},
            {"topic_header", s.topic_header},
            {"topic_field", s.topic_field},
            {"topic_prefix", s.topic_prefix},
            {"verifier", inbound::scheme_name(s.verifier)},
            {"secret", s.secret},
            {"signature_header", s.signature_header},
            {"signature_encoding", s.signature_encoding == inbound::encoding::hex ? "hex" : "base64"},
            {"signature_prefix", s.signature_prefix},
            {"id_header", s.id_header},
            {"description", s.description},
            {"created_us", s.created_us},
            {"updated_us", s.updated_us}};
  return {"source", s.name, body.dump(), s.version};
}

source_config source_from_record(const registry_record& record) {
  source_config s;
  s.name = record.id;
  s.version = record.version;
  s.deleted = record.deleted();
  if (s.deleted)
    return s;
  auto body = json::parse(record.body);
  s.topic = body.at("topic").get<std::string>();
  s.topic_header = body.at("topic_header").get<std::string>();
  s.topic_field = body.at("topic_field").get<std::string>();
  s.topic_prefix = body.at("topic_prefix").get<std::string>();
  if (!inbound::parse_scheme(body.at("verifier").get<std::string>(), s.verifier))
    throw std::runtime_error("unknown verifier \"" + body.at("verifier").get<std::string>() + "\"");
  s.secret = body.at("secret").get<std::string>();
  s.signature_header = body.value("signature_header", "");
  s.signature_encoding =
    body.value("signature_encoding", "hex") == "base64" ? inbound::encoding::base64 : inbound::encoding::hex;
  s.signature_prefix = body.value("signature_prefix", "");
  s.id_header = body.value("id_header", "");
  s.description = body.value("description", "");
  s.created_us = body.value("created_us", int64_t{0});
  s.updated_us = body.value("updated_us", int64_t{0});
  return s;
}

json render_source(const source_config& s, bool with_secret) {
  json topic = s.topic;
  if (s.topic.empty()) {
    topic = s.topic_header.empty() ? json{{"field", s.topic_field}} : json{{"header", s.topic_header}};
    topic["prefix"] = s.topic_prefix;
  }
  json verifier{{"type", inbound::scheme_name(s.verifier)}};
  if (s.verifier != inbound::scheme::none)
    verifier["secret"] = with_secret ? s.secret : mask(s.secret);
  if (s.verifier == inbound::scheme::hmac_sha256) {
    verifier["header"] = s.signature_header;
    verifier["encoding"] = s.signature_encoding == inbound::encoding::hex ? "hex" : "base64";
    verifier["prefix"] = s.signature_prefix;
  }
  json out{{"name", s.name},
           {"ingest_path", "/v1/ingest/" + s.name},
           {"topic", topic},
           {"verifier", verifier},
           {"description", s.description},
           {"created", format_rfc3339(s.created_us)},
           {"updated", format_rfc3339(s.updated_us)},
           {"version", s.version}};
  if (!s.id_header.empty())
    out["id_header"] = s.id_header;
  return out;
}

live_source make_live_source(const source_config& s) {
  std::string key = s.secret;
  if (s.verifier == inbound::scheme::standard_webhooks) {
    std::string error;
    key = webhook_secret_key(s.secret, error).value_or("");
  }
  return {s, inbound::make_verifier(s.verifier, std::move(key), s.signature_header, s.signature_encoding,
                                    s.signature_prefix)};
}

} // namespace evmesh
