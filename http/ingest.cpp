// See ingest.hpp.
#include "http/ingest.hpp"

#include <evmesh/topic.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>

namespace evmesh {
namespace {

using json = nlohmann::json;

std::string header_value(const http::request& req, std::string_view name) {
  auto it = req.find(boost::beast::string_view(name.data(), name.size()));
  return it == req.end() ? std::string{} : std::string(it->value().data(), it->value().size());
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

ingest_draft refuse(ingest_result result, unsigned status, std::string detail) {
  return {std::nullopt, result, status, std::move(detail)};
}

ingest_draft invalid(std::string detail) { return refuse(ingest_result::rejected_invalid, 400, std::move(detail)); }

// The string at a dotted member path of a JSON object, or nullptr.
const json* member_at(const json& body, const std::string& path) {
  const json* at = &body;
  std::size_t start = 0;
  while (start <= path.size()) {
    auto end = std::min(path.find('.', start), path.size());
    if (!at->is_object())
      return nullptr;
    auto it = at->find(path.substr(start, end - start));
    if (it == at->end())
      return nullptr;
    at = &*it;
    start = end + 1;
  }
  return at->is_string() ? at : nullptr;
}

// The header that carries the sender's delivery id, if the scheme has one.
std::string delivery_id_header(const source_config& s) {
  switch (s.verifier) {
    case inbound::scheme::standard_webhooks: return "webhook-id";
    case inbound::scheme::github: return "X-GitHub-Delivery";
    case inbound::scheme::stripe: return "";  // the event's own id, in the body
    case inbound::scheme::hmac_sha256:
    case inbound::scheme::none: return s.id_header;
  }
  return "";
}

} // namespace

ingest_draft prepare_ingest(const live_source& source, const http::request& req, int64_t now_us) {
  const auto& s = source.config;
  const auto& body = req.body();
  auto verdict = inbound::verify(source.verifier, req, body, now_us / 1000000);
  if (!verdict.accepted())
    return refuse(verdict.why == inbound::rejection::stale_timestamp ? ingest_result::rejected_stale
                                                                      : ingest_result::rejected_signature,
                  401, verdict.detail);

  auto parsed = json::parse(body, nullptr, false);
  bool is_json = !parsed.is_discarded() && !body.empty();
  event e;
  e.binary = !is_json;
  e.data = is_json ? parsed.dump() : body;

  if (!s.topic.empty()) {
    e.topic = s.topic;
  } else {
    std::string value;
    if (!s.topic_header.empty()) {
      value = header_value(req, s.topic_header);
      if (value.empty())
        return invalid("missing the " + s.topic_header + " header that names the topic");
    } else {
      auto found = is_json ? member_at(parsed, s.topic_field) : nullptr;
      if (!found)
        return invalid("the body is not a JSON object with a string at \"" + s.topic_field + "\" (it names the topic)");
      value = found->get<std::string>();
    }
    e.topic = s.topic_prefix + value;
    if (auto why = check_topic(e.topic); !why.empty())
      return invalid("the topic \"" + e.topic + "\" is not valid: " + why);
  }

  std::string delivery_id;
  auto id_header = delivery_id_header(s);
  if (!id_header.empty()) {
    delivery_id = header_value(req, id_header);
    e.headers[lower(id_header)] = delivery_id;
  } else if (s.verifier == inbound::scheme::stripe && is_json && parsed.is_object() && parsed.contains("id") &&
             parsed["id"].is_string()) {
    delivery_id = parsed["id"].get<std::string>();
  }
  if (!delivery_id.empty()) {
    e.id = s.name + ":" + delivery_id;
    if (auto why = check_event_id(e.id); !why.empty())
      return invalid("the delivery id \"" + delivery_id.substr(0, 64) + "\" cannot make an event id: " + why);
  }

  for (std::string_view name : {"content-type", "user-agent", "webhook-timestamp", "X-GitHub-Event", "X-GitHub-Hook-ID"})
    if (auto value = header_value(req, name); !value.empty())
      e.headers[lower(name)] = value;
  if (!s.topic_header.empty())
    e.headers[lower(s.topic_header)] = header_value(req, s.topic_header);
  std::erase_if(e.headers, [](const auto& h) { return h.second.empty(); });
  e.headers["evmesh-source"] = s.name;
  return {std::move(e), ingest_result::accepted, 202, {}};
}

} // namespace evmesh
