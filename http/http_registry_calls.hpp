// Asking the controller (from the gateway) about a registry record it owns
// (/v1/endpoints, /v1/sources) and answering the admin call
// (http/admin_call.hpp) with the record's rendering, its list, or the
// problem the controller named.
#pragma once

#include "actors/gateway.hpp"
#include "actors/registry_reply.hpp"
#include "http/admin_call.hpp"
#include "http/http_api.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <string>

namespace evmesh {

constexpr auto admin_call_timeout = std::chrono::seconds{30};

// Answers a controller reply: its status, `render(record)`, or the problem.
template <class Record, class Render>
void answer_reply(const admin_answer& a, const registry_reply<Record>& r, Render render) {
  namespace bhttp = boost::beast::http;
  if (r.status >= 300)
    return a.problem(static_cast<bhttp::status>(r.status), r.error);
  if (r.status == 204)
    return a.no_content();
  a.json_body(static_cast<bhttp::status>(r.status), render(r.record));
}

// Sends `xs...` to the controller from the gateway and answers its
// registry_reply<Record> with `render`.
template <class Record, class Render, class... Ts>
void ask_controller(const http_api_context& ctx, admin_answer_ptr a, Render render, Ts... xs) {
  run_in_gateway(ctx.gateway, [controller = ctx.controller, a, render, xs...](caf::event_based_actor* gw) {
    gw->request(controller, admin_call_timeout, xs...)
      .then([a, render](const registry_reply<Record>& r) { answer_reply(*a, r, render); },
            [a](caf::error& err) {
              a->problem(boost::beast::http::status::service_unavailable, "registry: " + caf::to_string(err));
            });
  });
}

// Asks the controller for every record (`atom`) and answers {key: [render(record)...]}.
template <class Record, class Atom, class Render>
void answer_list(const http_api_context& ctx, admin_answer_ptr a, Atom atom, std::string key, Render render) {
  run_in_gateway(ctx.gateway, [controller = ctx.controller, a, atom, key, render](caf::event_based_actor* gw) {
    gw->request(controller, admin_call_timeout, atom)
      .then(
        [a, key, render](const std::vector<Record>& all) {
          auto out = nlohmann::json::array();
          for (const auto& record : all)
            out.push_back(render(record));
          a->json_body(boost::beast::http::status::ok, nlohmann::json{{key, out}});
        },
        [a](caf::error& err) {
          a->problem(boost::beast::http::status::service_unavailable, "registry: " + caf::to_string(err));
        });
  });
}

} // namespace evmesh
