// See publish_request.hpp.
#include "http/publish_request.hpp"

#include "base/base64.hpp"
#include "model/envelope.hpp"

#include <boost/beast/core/string.hpp>
#include <nlohmann/json.hpp>

namespace evmesh {
namespace {

using json = nlohmann::json;
namespace bhttp = boost::beast::http;

std::string media_type(const http::request& req) {
  auto value = std::string(req[bhttp::field::content_type]);
  auto semicolon = value.find(';');
  if (semicolon != std::string::npos)
    value.resize(semicolon);
  while (!value.empty() && value.back() == ' ')
    value.pop_back();
  for (auto& c : value)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return value;
}

bool is_json_media(const std::string& type) {
  return type.empty() || type == "application/json" ||
         (type.size() > 5 && type.compare(type.size() - 5, 5, "+json") == 0);
}

// Reads the optional string map `headers`.
std::string read_headers(const json& object, event& draft) {
  auto it = object.find("headers");
  if (it == object.end() || it->is_null())
    return {};
  if (!it->is_object())
    return "\"headers\" must be an object of strings";
  for (const auto& [name, value] : it->items()) {
    if (!value.is_string())
      return "header \"" + name + "\" must be a string";
    draft.headers[name] = value.get<std::string>();
  }
  return {};
}

std::string read_string(const json& object, const char* name, std::string& out, bool required) {
  auto it = object.find(name);
  if (it == object.end() || it->is_null())
    return required ? std::string("\"") + name + "\" is required" : std::string{};
  if (!it->is_string())
    return std::string("\"") + name + "\" must be a string";
  out = it->get<std::string>();
  return {};
}

// evmesh's own form: {"topic","data","id"?,"headers"?}
std::string read_plain(const json& object, event& draft) {
  if (!object.is_object())
    return "an event must be a JSON object";
  if (auto why = read_string(object, "topic", draft.topic, true); !why.empty())
    return why;
  if (auto why = read_string(object, "id", draft.id, false); !why.empty())
    return why;
  auto data = object.find("data");
  if (data == object.end())
    return "\"data\" is required (use null for none)";
  draft.data = data->dump();
  return read_headers(object, draft);
}

// CloudEvents structured mode: type → topic, id, data or data_base64; other
// attributes are kept as "ce-<name>" headers.
std::string read_cloudevent(const json& object, event& draft) {
  if (!object.is_object())
    return "a CloudEvent must be a JSON object";
  std::string version;
  if (auto why = read_string(object, "specversion", version, true); !why.empty())
    return why;
  if (version != "1.0")
    return "specversion \"" + version + "\" is not supported (only 1.0)";
  if (auto why = read_string(object, "type", draft.topic, true); !why.empty())
    return why;
  if (auto why = read_string(object, "id", draft.id, true); !why.empty())
    return why;
  for (const auto& [name, value] : object.items()) {
    if (name == "data") {
      draft.data = value.dump();
    } else if (name == "data_base64") {
      auto bytes = value.is_string() ? base64_decode(value.get<std::string>()) : std::nullopt;
      if (!bytes)
        return "\"data_base64\" is not valid base64";
      draft.binary = true;
      draft.data = std::move(*bytes);
    } else if (name != "specversion" && name != "type" && name != "id") {
      draft.headers["ce-" + name] = value.is_string() ? value.get<std::string>() : value.dump();
    }
  }
  if (draft.data.empty() && !draft.binary)
    draft.data = "null";
  return {};
}

// CloudEvents binary mode: attributes in ce-* headers, the body is the data.
std::string read_binary_cloudevent(const http::request& req, const std::string& type, event& draft) {
  for (const auto& field : req) {
    auto name = std::string(field.name_string());
    for (auto& c : name)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (name.rfind("ce-", 0) != 0)
      continue;
    auto value = std::string(field.value());
    if (name == "ce-type")
      draft.topic = value;
    else if (name == "ce-id")
      draft.id = value;
    else if (name != "ce-specversion")
      draft.headers[name] = value;
  }
  if (req["ce-specversion"] != "1.0")
    return "header ce-specversion must be 1.0";
  if (draft.id.empty())
    return "header ce-id is required";
  if (is_json_media(type)) {
    draft.data = req.body();
    return normalize_json_data(draft.data).message;
  }
  draft.binary = true;
  draft.data = req.body();
  if (!type.empty())
    draft.headers["ce-datacontenttype"] = type;
  return {};
}

using reader_fn = std::string (*)(const json&, event&);

parsed_publish read_json_body(const http::request& req, reader_fn read_one, bool array_only) {
  parsed_publish out;
  json body;
  try {
    body = json::parse(req.body());
  } catch (const json::parse_error& e) {
    out.error = std::string("body is not valid JSON: ") + e.what();
    return out;
  }
  out.batch = body.is_array();
  if (array_only && !out.batch) {
    out.error = "a CloudEvents batch must be a JSON array";
    return out;
  }
  if (out.batch && body.empty()) {
    out.error = "the batch is empty";
    return out;
  }
  auto add = [&](const json& item, std::size_t index) {
    event draft;
    auto why = read_one(item, draft);
    if (why.empty())
      why = check_envelope(draft).message;
    if (!why.empty() && out.batch)
      why = "event " + std::to_string(index) + ": " + why;
    out.drafts.push_back(std::move(draft));
    return why;
  };
  if (!out.batch) {
    out.error = add(body, 0);
    return out;
  }
  for (std::size_t i = 0; i < body.size() && out.error.empty(); ++i)
    out.error = add(body[i], i);
  return out;
}

} // namespace

parsed_publish parse_publish_request(const http::request& req) {
  auto type = media_type(req);
  if (type == "application/cloudevents+json")
    return read_json_body(req, read_cloudevent, false);
  if (type == "application/cloudevents-batch+json")
    return read_json_body(req, read_cloudevent, true);
  if (!req["ce-type"].empty()) {
    parsed_publish out;
    event draft;
    out.error = read_binary_cloudevent(req, type, draft);
    if (out.error.empty())
      out.error = check_envelope(draft).message;
    out.drafts.push_back(std::move(draft));
    return out;
  }
  if (!is_json_media(type)) {
    parsed_publish out;
    out.error = "content type \"" + type +
                "\" is not accepted: use application/json, application/cloudevents+json, "
                "or CloudEvents binary mode (ce-* headers)";
    return out;
  }
  return read_json_body(req, read_plain, false);
}

std::string read_event_object(const json& object, event& draft) {
  if (auto why = read_plain(object, draft); !why.empty())
    return why;
  return check_envelope(draft).message;
}

} // namespace evmesh
