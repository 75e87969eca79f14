// See event_json.hpp.
#include "model/event_json.hpp"

#include "base/base64.hpp"

#include <nlohmann/json.hpp>

namespace evmesh {

using json = nlohmann::json;

std::string render_event(const event& e) {
  std::string out = "{\"id\":" + json(e.id).dump() + ",\"topic\":" + json(e.topic).dump() +
                    ",\"time\":\"" + format_rfc3339(e.time_us) + "\",\"seq\":" +
                    std::to_string(e.seq);
  if (e.binary)
    out += ",\"data_base64\":\"" + base64_encode(e.data) + "\"";
  else
    out += ",\"data\":" + e.data;
  if (!e.headers.empty())
    out += ",\"headers\":" + json(e.headers).dump(-1, ' ', false, json::error_handler_t::replace);
  out += '}';
  return out;
}

std::string render_event_message(const event& e) {
  auto object = render_event(e);  // {"id":...}
  return "{\"op\":\"event\"," + object.substr(1);
}

} // namespace evmesh
