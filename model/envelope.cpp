// See envelope.hpp.
#include "model/envelope.hpp"

#include <evmesh/topic.hpp>

#include <nlohmann/json.hpp>

namespace evmesh {

namespace {

// Well-formed UTF-8: no overlong forms, no surrogates, nothing past U+10FFFF.
bool is_utf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    auto byte = static_cast<unsigned char>(text[i]);
    std::size_t length = byte < 0x80 ? 1 : (byte >> 5) == 0x6 ? 2 : (byte >> 4) == 0xe ? 3 : (byte >> 3) == 0x1e ? 4 : 0;
    if (length == 0 || i + length > text.size())
      return false;
    uint32_t code = length == 1 ? byte : byte & (0x7f >> length);
    for (std::size_t k = 1; k < length; ++k) {
      auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xc0) != 0x80)
        return false;
      code = (code << 6) | (next & 0x3f);
    }
    static constexpr uint32_t smallest[] = {0, 0, 0x80, 0x800, 0x10000};
    if (code < smallest[length] || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff))
      return false;
    i += length;
  }
  return true;
}

} // namespace

envelope_result check_envelope(const event& draft) {
  if (auto why = check_topic(draft.topic); !why.empty())
    return {envelope_errc::invalid_topic, std::move(why)};
  if (draft.data.size() > max_event_data_bytes)
    return {envelope_errc::data_too_large, "data is " + std::to_string(draft.data.size()) + " bytes, more than the " +
                                             std::to_string(max_event_data_bytes) + " an event may carry"};
  if (is_registry_topic(draft.topic))
    return {envelope_errc::reserved_topic,
            "topics under \"" + std::string(registry_topic_prefix) + "\" are reserved for the cluster's registry"};
  if (!draft.id.empty())
    if (auto why = check_event_id(draft.id); !why.empty())
      return {envelope_errc::invalid_id, std::move(why)};
  for (const auto& [name, value] : draft.headers)
    if (!is_utf8(name) || !is_utf8(value))
      return {envelope_errc::invalid_header,
              "header \"" + std::string(is_utf8(name) ? name : "?") + "\" is not valid UTF-8"};
  return {};
}

namespace {

// Removes whitespace outside strings, in place; `json` must be valid JSON.
void strip_insignificant_whitespace(std::string& json) {
  std::size_t out = 0;
  bool in_string = false, escaped = false;
  for (char c : json) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
    } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      continue;
    } else if (c == '"') {
      in_string = true;
    }
    json[out++] = c;
  }
  json.resize(out);
}

} // namespace

envelope_result normalize_json_data(std::string& data) {
  // Validation without building a document costs half of parse + dump
  // (bench/RESULTS.md); numbers and escapes keep the publisher's spelling.
  if (nlohmann::json::accept(data)) {
    strip_insignificant_whitespace(data);
    return {};
  }
  try {
    auto parsed = nlohmann::json::parse(data);  // throws: only to say what is wrong
    (void)parsed;
  } catch (const nlohmann::json::exception& e) {
    return {envelope_errc::invalid_json, std::string("data is not valid JSON: ") + e.what()};
  }
  return {envelope_errc::invalid_json, "data is not valid JSON"};
}

} // namespace evmesh
