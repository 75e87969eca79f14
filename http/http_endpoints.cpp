// See http_endpoints.hpp.
#include "http/http_endpoints.hpp"

#include "http/http_registry_calls.hpp"

#include <evmesh/topic.hpp>

#include <nlohmann/json.hpp>

#include <charconv>
#include <ctime>

namespace evmesh {
namespace {

using json = nlohmann::json;
namespace bhttp = boost::beast::http;
using verb = bhttp::verb;
using status = bhttp::status;

constexpr uint64_t default_attempts_limit = 50;
constexpr uint64_t max_attempts_limit = 1000;

auto endpoint_renderer(bool with_secret) {
  return [with_secret](const endpoint_config& ep) { return render_endpoint(ep, with_secret); };
}

json render_attempt(const attempt_record& r) {
  json out{{"event_id", r.event_id},
           {"seq", r.seq},
           {"attempt", r.attempt},
           {"time", format_rfc3339(r.time_us)},
           {"status", r.status == 0 ? json(nullptr) : json(r.status)},
           {"duration_ms", static_cast<double>(r.duration_us) / 1000.0},
           {"response", json(r.response).dump(-1, ' ', false, json::error_handler_t::replace)}};
  out["response"] = json::parse(out["response"].get<std::string>());
  if (!r.error.empty())
    out["error"] = r.error;
  return out;
}

void attempts(const http_api_context& ctx, admin_answer_ptr a, const std::string& id) {
  uint64_t limit = default_attempts_limit;
  if (auto it = a->call.query.find("limit"); it != a->call.query.end()) {
    auto [end, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), limit);
    if (ec != std::errc{} || end != it->second.data() + it->second.size() || limit < 1 || limit > max_attempts_limit)
      return a->problem(status::bad_request,
                        "query parameter \"limit\" must be between 1 and " + std::to_string(max_attempts_limit));
  }
  run_in_gateway(ctx.gateway, [ctx, a, id, limit](caf::event_based_actor* gw) {
    gw->request(ctx.controller, admin_call_timeout, ep_get_atom::value, id)
      .then(
        [gw, ctx, a, id, limit](const endpoint_reply& r) {
          if (r.status >= 300)
            return answer_reply(*a, r, endpoint_renderer(false));
          gw->request(ctx.writer, admin_call_timeout, dl_attempts_atom::value, id, limit)
            .then(
              [a](const std::vector<attempt_record>& records) {
                json out = json::array();
                for (const auto& record : records)
                  out.push_back(render_attempt(record));
                a->json_body(status::ok, json{{"attempts", out}});
              },
              [a](caf::error& err) { a->problem(status::service_unavailable, "attempts: " + caf::to_string(err)); });
        },
        [a](caf::error& err) { a->problem(status::service_unavailable, "attempts: " + caf::to_string(err)); });
  });
}

// A replay bound: a seq (integer) or an RFC 3339 time (string).
bool read_bound(const json& v, bool& by_time, int64_t& out, std::string& error, const char* name) {
  if (v.is_number_unsigned() || (v.is_number_integer() && v.get<int64_t>() >= 0)) {
    out = v.get<int64_t>();
    by_time = false;
    return true;
  }
  if (v.is_string()) {
    std::tm tm{};
    auto text = v.get<std::string>();
    const char* rest = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
    double fraction = 0;
    if (rest && *rest == '.') {
      char* end = nullptr;
      fraction = std::strtod(rest, &end);
      rest = end;
    }
    if (rest && (std::string_view(rest) == "Z" || std::string_view(rest) == "+00:00")) {
      out = static_cast<int64_t>(timegm(&tm)) * 1000000 + static_cast<int64_t>(fraction * 1e6);
      by_time = true;
      return true;
    }
  }
  error = std::string("\"") + name + "\" must be a seq (non-negative integer) or an RFC 3339 UTC time";
  return false;
}

void replay(const http_api_context& ctx, admin_answer_ptr a, const std::string& id) {
  replay_request req;
  req.endpoint_id = id;
  std::string error;
  try {
    auto body = json::parse(a->call.body.empty() ? "{}" : a->call.body);
    if (!body.is_object() || !body.contains("since"))
      return a->problem(status::bad_request, "the body must be {\"since\": SEQ|TIME, \"until\"?: SEQ|TIME}");
    bool since_by_time = false, until_by_time = false;
    if (!read_bound(body["since"], since_by_time, req.since, error, "since"))
      return a->problem(status::bad_request, error);
    if (body.contains("until") && !body["until"].is_null()) {
      if (!read_bound(body["until"], until_by_time, req.until, error, "until"))
        return a->problem(status::bad_request, error);
      if (until_by_time != since_by_time)
        return a->problem(status::bad_request, "\"since\" and \"until\" must both be seqs or both be times");
    }
    req.by_time = since_by_time;
  } catch (const json::exception& e) {
    return a->problem(status::bad_request, std::string("the body is not valid JSON: ") + e.what());
  }
  run_in_gateway(ctx.gateway, [ctx, a, req](caf::event_based_actor* gw) {
    gw->request(ctx.controller, admin_call_timeout, ep_get_atom::value, req.endpoint_id)
      .then(
        [gw, ctx, a, req](const endpoint_reply& r) {
          if (r.status >= 300)
            return answer_reply(*a, r, endpoint_renderer(false));
          gw->request(ctx.delivery_manager, admin_call_timeout, replay_atom::value, req)
            .then(
              [a](const replay_result& result) {
                if (!result.error.empty())
                  return a->problem(status::conflict, result.error);
                a->json_body(status::accepted, json{{"queued", result.queued},
                                                    {"from_seq", result.from_seq},
                                                    {"to_seq", result.to_seq},
                                                    {"truncated", result.truncated}});
              },
              [a](caf::error& err) { a->problem(status::service_unavailable, "replay: " + caf::to_string(err)); });
        },
        [a](caf::error& err) { a->problem(status::service_unavailable, "replay: " + caf::to_string(err)); });
  });
}

} // namespace

void handle_endpoint_call(const http_api_context& ctx, admin_call call, http::responder respond) {
  auto a = std::make_shared<const admin_answer>(admin_answer{std::move(call), std::move(respond)});
  const auto& path = a->call.path;
  auto method = a->call.method;
  if (path == "/v1/endpoints" || path == "/v1/endpoints/") {
    if (method == verb::post)
      return ask_controller<endpoint_config>(ctx, a, endpoint_renderer(true), ep_create_atom::value, a->call.body);
    if (method == verb::get)
      return answer_list<endpoint_config>(ctx, a, ep_list_atom::value, "endpoints", endpoint_renderer(false));
    return a->not_allowed("GET, POST");
  }
  auto rest = path.substr(std::string_view("/v1/endpoints/").size());
  auto slash = rest.find('/');
  auto id = rest.substr(0, slash);
  auto action = slash == std::string::npos ? std::string{} : rest.substr(slash + 1);
  if (action.empty()) {
    if (method == verb::get)
      return ask_controller<endpoint_config>(ctx, a, endpoint_renderer(true), ep_get_atom::value, id);
    if (method == verb::patch)
      return ask_controller<endpoint_config>(ctx, a, endpoint_renderer(false), ep_patch_atom::value, id, a->call.body);
    if (method == verb::delete_)
      return ask_controller<endpoint_config>(ctx, a, endpoint_renderer(false), ep_delete_atom::value, id);
    return a->not_allowed("GET, PATCH, DELETE");
  }
  if (action == "rotate-secret")
    return method == verb::post ? ask_controller<endpoint_config>(ctx, a, endpoint_renderer(true), ep_rotate_atom::value,
                                                                  id, a->call.body)
                                : a->not_allowed("POST");
  if (action == "attempts")
    return method == verb::get ? attempts(ctx, a, id) : a->not_allowed("GET");
  if (action == "replay")
    return method == verb::post ? replay(ctx, a, id) : a->not_allowed("POST");
  a->problem(status::not_found, "no resource at " + path);
}

void render_event_deliveries(caf::event_based_actor* gw, const http_api_context& ctx, const event& e,
                             std::function<void(std::string)> done) {
  auto topic = e.topic;
  // Where the event's delivery state is kept (delivery_store::home_of)
  // needs its place in the logs, not its payload.
  auto place = std::make_shared<event>();
  place->seq = e.seq;
  place->origin = e.origin;
  place->origin_seq = e.origin_seq;
  gw->request(ctx.controller, admin_call_timeout, ep_list_atom::value)
    .then(
      [gw, ctx, topic, place, done](const std::vector<endpoint_config>& all) {
        std::vector<endpoint_config> matching;
        for (const auto& ep : all)
          if (std::any_of(ep.topics.begin(), ep.topics.end(), [&](const auto& p) { return topic_matches(p, topic); }))
            matching.push_back(ep);
        if (matching.empty())
          return done("[]");
        gw->request(ctx.writer, admin_call_timeout, dl_status_atom::value, event_ptr(place))
          .then(
            [matching, done](const delivery_status& status) {
              auto seq = status.seq;
              json out = json::array();
              for (const auto& ep : matching) {
                json one{{"endpoint_id", ep.id}, {"url", ep.url}};
                auto row = std::find_if(status.rows.begin(), status.rows.end(),
                                        [&](const delivery_row& r) { return r.endpoint_id == ep.id; });
                auto cursor = std::find_if(status.cursors.begin(), status.cursors.end(),
                                           [&](const endpoint_cursor& c) { return c.endpoint_id == ep.id; });
                if (row != status.rows.end()) {
                  one["state"] = row->state;
                  one["attempts"] = row->attempts;
                  if (row->last_status)
                    one["last_status"] = row->last_status;
                  if (!row->last_error.empty())
                    one["last_error"] = row->last_error;
                  if (row->state == delivery_state::retrying)
                    one["next_attempt"] = format_rfc3339(row->next_attempt_us);
                } else if (cursor == status.cursors.end()) {
                  one["state"] = ep.disabled ? "endpoint_disabled" : "pending";
                } else if (seq <= cursor->start_seq) {
                  continue;  // published before the endpoint existed
                } else {
                  one["state"] = seq <= cursor->cursor ? "delivered" : "pending";
                }
                out.push_back(std::move(one));
              }
              done(out.dump());
            },
            [done](caf::error&) { done("[]"); });
      },
      [done](caf::error&) { done("[]"); });
}

} // namespace evmesh
