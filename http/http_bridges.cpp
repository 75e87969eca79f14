// See http_bridges.hpp.
#include "http/http_bridges.hpp"

#include "actors/bridge_messages.hpp"
#include "actors/gateway.hpp"

namespace evmesh {
namespace {

namespace bhttp = boost::beast::http;
using verb = bhttp::verb;
using status = bhttp::status;

constexpr auto actor_timeout = std::chrono::seconds{30};

// Sends the call to the bridge manager from the gateway and answers with
// its reply.
template <class... Ts>
void ask_manager(const http_api_context& ctx, admin_answer_ptr a, Ts... xs) {
  run_in_gateway(ctx.gateway, [manager = ctx.bridge_manager, a, xs...](caf::event_based_actor* gw) {
    gw->request(manager, actor_timeout, xs...)
      .then(
        [a](const bridge_reply& r) {
          if (r.status >= 300)
            return a->problem(static_cast<status>(r.status), r.error);
          if (r.status == 204)
            return a->no_content();
          a->json_text(static_cast<status>(r.status), r.body);
        },
        [a](caf::error& err) { a->problem(status::service_unavailable, "bridges: " + caf::to_string(err)); });
  });
}

} // namespace

void handle_bridge_call(const http_api_context& ctx, admin_call call, http::responder respond) {
  auto a = std::make_shared<const admin_answer>(admin_answer{std::move(call), std::move(respond)});
  const auto& path = a->call.path;
  auto method = a->call.method;
  if (path == "/v1/bridges" || path == "/v1/bridges/") {
    if (method == verb::post)
      return ask_manager(ctx, a, br_create_atom::value, a->call.body);
    if (method == verb::get)
      return ask_manager(ctx, a, br_list_atom::value);
    return a->not_allowed("GET, POST");
  }
  auto id = path.substr(std::string_view("/v1/bridges/").size());
  if (id.find('/') != std::string::npos)
    return a->problem(status::not_found, "no resource at " + path);
  if (method == verb::get)
    return ask_manager(ctx, a, br_get_atom::value, id);
  if (method == verb::patch)
    return ask_manager(ctx, a, br_patch_atom::value, id, a->call.body);
  if (method == verb::delete_)
    return ask_manager(ctx, a, br_delete_atom::value, id);
  a->not_allowed("GET, PATCH, DELETE");
}

} // namespace evmesh
