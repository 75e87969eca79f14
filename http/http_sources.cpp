// See http_sources.hpp.
#include "http/http_sources.hpp"

#include "http/http_registry_calls.hpp"
#include "http/ingest.hpp"

namespace evmesh {
namespace {

using json = nlohmann::json;
namespace bhttp = boost::beast::http;
using verb = bhttp::verb;

auto source_renderer(bool with_secret) {
  return [with_secret](const source_config& s) { return render_source(s, with_secret); };
}

// The secret is shown when the call set it: on create, and on a patch that
// replaced the verifier.
bool sets_secret(const admin_call& call) {
  if (call.method == verb::post)
    return true;
  auto body = json::parse(call.body, nullptr, false);
  return body.is_object() && body.contains("verifier");
}

} // namespace

void handle_source_call(const http_api_context& ctx, admin_call call, http::responder respond) {
  auto a = std::make_shared<const admin_answer>(admin_answer{std::move(call), std::move(respond)});
  const auto& path = a->call.path;
  auto method = a->call.method;
  auto render = source_renderer(sets_secret(a->call));
  if (path == "/v1/sources" || path == "/v1/sources/") {
    if (method == verb::post)
      return ask_controller<source_config>(ctx, a, render, src_create_atom::value, a->call.body);
    if (method == verb::get)
      return answer_list<source_config>(ctx, a, src_list_atom::value, "sources", render);
    return a->not_allowed("GET, POST");
  }
  auto name = path.substr(std::string_view("/v1/sources/").size());
  if (name.find('/') != std::string::npos)
    return a->problem(bhttp::status::not_found, "no resource at " + path);
  if (method == verb::get)
    return ask_controller<source_config>(ctx, a, render, src_get_atom::value, name);
  if (method == verb::patch)
    return ask_controller<source_config>(ctx, a, render, src_patch_atom::value, name, a->call.body);
  if (method == verb::delete_)
    return ask_controller<source_config>(ctx, a, render, src_delete_atom::value, name);
  a->not_allowed("GET, PATCH, DELETE");
}

void handle_ingest(const http_api_context& ctx, const std::string& name, http::request&& req,
                   http::responder respond) {
  auto version = req.version();
  auto keep_alive = req.keep_alive();
  auto sources = ctx.sources();
  auto found = sources->find(name);
  if (found == sources->end()) {
    ctx.ingest->unknown_source.fetch_add(1, std::memory_order_relaxed);
    return respond(http::make_problem(bhttp::status::not_found, "no source is named \"" + name + "\"", version,
                                      keep_alive));
  }
  auto prepared = prepare_ingest(found->second, req, now_us());
  if (!prepared.draft) {
    ctx.ingest->count(name, prepared.result);
    return respond(http::make_problem(static_cast<bhttp::status>(prepared.status), prepared.detail, version,
                                      keep_alive));
  }
  std::vector<event> drafts;
  drafts.push_back(std::move(*prepared.draft));
  caf::anon_send(ctx.publisher, publish_atom::value, std::move(drafts),
                 publish_callback{[ingest = ctx.ingest, name, respond = std::move(respond), version,
                                   keep_alive](publish_reply reply) {
                   auto result = !reply.error.empty()        ? ingest_result::error
                                 : reply.acks.at(0).duplicate ? ingest_result::duplicate
                                                              : ingest_result::accepted;
                   ingest->count(name, result);
                   respond(publish_answer(reply, false, version, keep_alive));
                 }});
}

} // namespace evmesh
