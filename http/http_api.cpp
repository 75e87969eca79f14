// See http_api.hpp. Routing, authentication and the response shapes of the
// contract's HTTP API; the work itself happens in actors.
#include "http/http_api.hpp"

#include "actors/bridge_messages.hpp"
#include "actors/gateway.hpp"
#include "model/event_json.hpp"
#include "http/publish_request.hpp"
#include "http/http_bridges.hpp"
#include "http/http_endpoints.hpp"
#include "http/http_sources.hpp"
#include "http/sse_stream.hpp"
#include "http/web_ui.hpp"
#include "http/ws_protocol.hpp"
#include "http/cluster_api.hpp"
#include "cluster/member_table.hpp"
#include "transports/problem.hpp"
#include "base/query_string.hpp"

#include <evmesh/topic.hpp>

#include <nlohmann/json.hpp>

#include <charconv>

namespace evmesh {
namespace {

using json = nlohmann::json;
namespace bhttp = boost::beast::http;
using status = bhttp::status;

constexpr auto actor_timeout = std::chrono::seconds{30};
constexpr std::size_t default_history_limit = 100;
constexpr std::size_t max_history_limit = 1000;

struct call {
  http::request req;
  http::responder respond;
  request_target target;
};

class api : public std::enable_shared_from_this<api> {
public:
  explicit api(http_api_context context)
      : ctx_(std::move(context)),
        websocket_(ws_context{feed_context(), ctx_.publisher, ctx_.websocket, ctx_.probe, ctx_.stored}) {}

  void handle(http::request&& req, http::responder respond) {
    ctx_.probe->http_requests.fetch_add(1, std::memory_order_relaxed);
    auto probe = ctx_.probe;
    call c{std::move(req), respond.observed([probe](const http::response& res) {
             auto code = res.result_int();
             auto& counter = code < 300   ? probe->http_responses_2xx
                             : code < 500 ? probe->http_responses_4xx
                                          : probe->http_responses_5xx;
             counter.fetch_add(1, std::memory_order_relaxed);
           }),
           {}};
    auto target = parse_target(std::string_view(c.req.target().data(), c.req.target().size()));
    if (!target)
      return problem(c, status::bad_request, "the request target has a malformed percent escape");
    c.target = std::move(*target);
    route(c);
  }

private:
  void route(call& c) {
    const auto& path = c.target.path;
    auto method = c.req.method();
    if (path == "/healthz")
      return only(c, bhttp::verb::get, "GET", [&] { healthz(c); });
    if (path == "/metrics")
      return only(c, bhttp::verb::get, "GET", [&] { metrics_text(c); });
    if (path == "/ui" || path == "/ui/")
      return only(c, bhttp::verb::get, "GET", [&] { web_ui(c); });
    if (path == "/v1/events") {
      if (method == bhttp::verb::post)
        return publish(c);
      if (method == bhttp::verb::get)
        return history(c);
      return not_allowed(c, "GET, POST");
    }
    if (path.rfind("/v1/events/", 0) == 0 && path.size() > 11 &&
        path.find('/', 11) == std::string::npos)
      return only(c, bhttp::verb::get, "GET", [&] { find(c, path.substr(11)); });
    if (path == "/v1/tokens")
      return only(c, bhttp::verb::post, "POST", [&] { create_token(c); });
    if (path == "/v1/sse")
      return only(c, bhttp::verb::get, "GET", [&] { sse(c); });
    if (path == "/v1/ws")
      return only(c, bhttp::verb::get, "GET", [&] { websocket(c); });
    if (path == "/v1/cluster")
      return only(c, bhttp::verb::get, "GET", [&] { cluster_state(c); });
    if (path == "/v1/endpoints" || path.rfind("/v1/endpoints/", 0) == 0)
      return admin_resource(c, "webhook endpoints", handle_endpoint_call);
    if (path == "/v1/bridges" || path.rfind("/v1/bridges/", 0) == 0)
      return admin_resource(c, "bridges", handle_bridge_call);
    if (path == "/v1/sources" || path.rfind("/v1/sources/", 0) == 0)
      return admin_resource(c, "inbound sources", handle_source_call);
    if (path.rfind("/v1/ingest/", 0) == 0 && path.size() > 11 && path.find('/', 11) == std::string::npos)
      return only(c, bhttp::verb::post, "POST", [&] {
        handle_ingest(ctx_, path.substr(11), std::move(c.req), std::move(c.respond));
      });
    problem(c, status::not_found, "no resource at " + path);
  }

  template <class Fn>
  void only(call& c, bhttp::verb verb, const char* allow, Fn fn) {
    if (c.req.method() == verb)
      fn();
    else
      not_allowed(c, allow);
  }

  void not_allowed(call& c, const char* allow) {
    auto res = http::make_problem(status::method_not_allowed,
                                  std::string(c.req.method_string()) + " is not allowed on " +
                                    c.target.path + "; allowed: " + allow,
                                  c.req.version(), c.req.keep_alive());
    res.set(bhttp::field::allow, allow);
    c.respond(std::move(res));
  }

  // --- responses ----------------------------------------------------------

  static void problem(call& c, status code, const std::string& detail) {
    c.respond(http::make_problem(code, detail, c.req.version(), c.req.keep_alive()));
  }

  static http::response json_response(const http::request& req, status code, std::string body) {
    http::response res{code, req.version()};
    res.set(bhttp::field::content_type, "application/json");
    res.keep_alive(req.keep_alive());
    res.body() = std::move(body);
    return res;
  }

  // --- authentication -----------------------------------------------------

  // The caller's scopes, or nullopt after answering 401. With
  // `query_token`, a `?token=` parameter stands in for a missing header
  // (browsers' EventSource cannot set headers).
  std::optional<scope_list> authenticate(call& c, bool query_token = false) {
    auto header = c.req[bhttp::field::authorization];
    std::string_view value(header.data(), header.size());
    constexpr std::string_view scheme = "bearer ";
    bool bearer = value.size() > scheme.size() &&
                  std::equal(scheme.begin(), scheme.end(), value.begin(), [](char a, char b) {
                    return a == std::tolower(static_cast<unsigned char>(b));
                  });
    auto from_query = c.target.query.find("token");
    std::optional<std::string_view> token;
    if (bearer)
      token = value.substr(scheme.size());
    else if (value.empty() && query_token && from_query != c.target.query.end())
      token = from_query->second;
    std::string detail;
    if (token) {
      auto table = ctx_.auth();
      auto it = table->find(token_hash(*token));
      if (it != table->end())
        return it->second;
      detail = "the token is not valid";
    } else if (value.empty()) {
      detail = query_token ? "missing Authorization: Bearer <token> (or ?token=)"
                           : "missing Authorization: Bearer <token>";
    } else {
      detail = "the Authorization header must use the Bearer scheme";
    }
    ctx_.probe->auth_failures.fetch_add(1, std::memory_order_relaxed);
    auto res = http::make_problem(status::unauthorized, detail, c.req.version(), c.req.keep_alive());
    res.set(bhttp::field::www_authenticate, "Bearer");
    c.respond(std::move(res));
    return std::nullopt;
  }

  void forbidden(call& c, const std::string& detail) {
    ctx_.probe->auth_failures.fetch_add(1, std::memory_order_relaxed);
    problem(c, status::forbidden, detail);
  }

  // --- endpoints ----------------------------------------------------------

  // 200 while the store answers and takes appends; 503 with the reason
  // while it does not. Healthy, it answers at once (the HTTP edge with no
  // work behind it, the benchmarks' baseline); after a store failure it asks
  // the writer, which checks the store again first, so recovery shows
  // without a publish. Failing appends (a full disk: reads and pings still
  // work) stay unhealthy until an append succeeds.
  void healthz(call& c) {
    if (ctx_.stored->store_up.load() == 1 && ctx_.stored->appends_failing.load() == 0)
      return answer_health(c, true);
    auto self = shared_from_this();
    auto shared = std::make_shared<call>(std::move(c));
    run_in_gateway(ctx_.gateway, [self, shared](caf::event_based_actor* gw) {
      gw->request(self->ctx_.writer, actor_timeout, stats_atom::value)
        .then([self, shared](const store_stats&) { self->answer_health(*shared, true); },
              [self, shared](caf::error&) { self->answer_health(*shared, false); });
    });
  }

  void answer_health(call& c, bool writer_answered) {
    json body{{"node", ctx_.node_name}, {"store", ctx_.store}};
    bool appends_failing = ctx_.stored->appends_failing.load() == 1;
    bool up = writer_answered && ctx_.stored->store_up.load() == 1 && !appends_failing;
    body["status"] = up ? "ok" : "unavailable";
    if (!up) {
      auto problem = ctx_.stored->store_problem.load();
      auto append_problem = ctx_.stored->append_problem.load();
      body["reason"] = !writer_answered ? "the store writer did not answer"
                       : ctx_.stored->store_up.load() == 0
                         ? (problem ? *problem : "the store is unavailable")
                         : "appending events fails: " + (append_problem ? *append_problem : std::string("unknown error"));
    }
    auto res = json_response(c.req, up ? status::ok : status::service_unavailable, body.dump());
    if (!up)
      res.set(bhttp::field::retry_after, "1");
    c.respond(std::move(res));
  }

  // No auth: the page asks for a token and uses it on /v1/ws. It loads
  // nothing from elsewhere, and the policy says so.
  void web_ui(call& c) {
    if (c.target.path == "/ui") {
      http::response res{status::moved_permanently, c.req.version()};
      res.set(bhttp::field::location, "/ui/");
      res.keep_alive(c.req.keep_alive());
      return c.respond(std::move(res));
    }
    http::response res{status::ok, c.req.version()};
    res.set(bhttp::field::content_type, "text/html; charset=utf-8");
    res.set(bhttp::field::cache_control, "no-cache");
    res.set("Content-Security-Policy",
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
            "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
    res.set("X-Content-Type-Options", "nosniff");
    res.set("Referrer-Policy", "no-referrer");
    res.keep_alive(c.req.keep_alive());
    res.body() = std::string(web_ui_page());
    c.respond(std::move(res));
  }

  // GET /metrics: the registry renders every probe's metrics, then the
  // families gathered from actors for this scrape: the bridge manager's and
  // the store's figures (asked of the actors that own them).
  void metrics_text(call& c) {
    auto self = shared_from_this();
    auto shared = std::make_shared<call>(std::move(c));
    run_in_gateway(ctx_.gateway, [self, shared](caf::event_based_actor* gw) {
      gw->request(self->ctx_.bridge_manager, actor_timeout, br_metrics_atom::value)
        .then([gw, self, shared](const std::vector<metric_family>& bridges) { self->store_metrics(gw, *shared, bridges); },
              [gw, self, shared](caf::error&) { self->store_metrics(gw, *shared, {}); });
    });
  }

  void store_metrics(caf::event_based_actor* gw, call& c, const std::vector<metric_family>& bridges) {
    auto self = shared_from_this();
    auto shared = std::make_shared<call>(std::move(c));
    gw->request(ctx_.writer, actor_timeout, stats_atom::value)
      .then([self, shared, bridges](const store_stats& stats) { self->answer_metrics(*shared, &stats, bridges); },
            [self, shared, bridges](caf::error&) { self->answer_metrics(*shared, nullptr, bridges); });
  }

  void answer_metrics(call& c, const store_stats* stats, const std::vector<metric_family>& bridges) {
    std::vector<metric_family> scraped{
      {.name = "http_open_connections", .help = "HTTP connections open now.", .type = metric_type::gauge_type,
       .samples = {{.labels = {}, .value = static_cast<int64_t>(ctx_.open_connections())}}}};
    for (auto& family : ctx_.stored->scraped(stats))
      scraped.push_back(std::move(family));
    scraped.insert(scraped.end(), bridges.begin(), bridges.end());
    http::response res{status::ok, c.req.version()};
    res.set(bhttp::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
    res.keep_alive(c.req.keep_alive());
    res.body() = ctx_.registry->render(scraped);
    c.respond(std::move(res));
  }

  void publish(call& c) {
    auto scopes = authenticate(c);
    if (!scopes)
      return;
    auto parsed = parse_publish_request(c.req);
    if (!parsed.error.empty()) {
      ctx_.stored->events_rejected.fetch_add(parsed.drafts.size(), std::memory_order_relaxed);
      return problem(c, status::bad_request, parsed.error);
    }
    for (const auto& draft : parsed.drafts)
      if (!may_publish(*scopes, draft.topic))
        return forbidden(c, "the token may not publish to \"" + draft.topic + "\"");
    auto version = c.req.version();
    auto keep_alive = c.req.keep_alive();
    auto batch = parsed.batch;
    caf::anon_send(ctx_.publisher, publish_atom::value, std::move(parsed.drafts),
                   publish_callback{[respond = std::move(c.respond), version, keep_alive, batch](publish_reply reply) {
                     respond(publish_answer(reply, batch, version, keep_alive));
                   }});
  }

  static bool read_number(const std::map<std::string, std::string>& query, const char* name,
                          uint64_t& out, std::string& error) {
    auto it = query.find(name);
    if (it == query.end())
      return true;
    const auto& text = it->second;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) {
      error = std::string("query parameter \"") + name + "\" must be a non-negative integer";
      return false;
    }
    return true;
  }

  // The `topic` query parameter (default ">"), or nullopt after answering 400.
  static std::optional<std::string> read_pattern(call& c) {
    auto topic = c.target.query.find("topic");
    std::string pattern = topic == c.target.query.end() ? ">" : topic->second;
    if (auto why = check_pattern(pattern); !why.empty()) {
      problem(c, status::bad_request, "query parameter \"topic\": " + why);
      return std::nullopt;
    }
    return pattern;
  }

  void history(call& c) {
    auto scopes = authenticate(c);
    if (!scopes)
      return;
    history_query q;
    auto pattern = read_pattern(c);
    if (!pattern)
      return;
    q.pattern = std::move(*pattern);
    uint64_t limit = default_history_limit;
    std::string error;
    if (!read_number(c.target.query, "since", q.after_seq, error) ||
        !read_number(c.target.query, "limit", limit, error))
      return problem(c, status::bad_request, error);
    if (limit < 1 || limit > max_history_limit)
      return problem(c, status::bad_request,
                     "query parameter \"limit\" must be between 1 and " +
                       std::to_string(max_history_limit));
    q.limit = limit;
    if (!may_subscribe(*scopes, q.pattern))
      return forbidden(c, "the token may not read \"" + q.pattern + "\"");
    auto self = shared_from_this();
    auto shared = std::make_shared<call>(std::move(c));
    run_in_gateway(ctx_.gateway, [self, shared, q](caf::event_based_actor* gw) {
      gw->request(self->ctx_.reader, actor_timeout, history_atom::value, q)
        .then(
          [shared](const history_page& page) {
            if (!page.error.empty())
              return problem(*shared, status::service_unavailable, "history: " + page.error);
            std::string body = "{\"events\":[";
            for (std::size_t i = 0; i < page.events.size(); ++i) {
              if (i)
                body += ',';
              body += render_event(page.events[i]);
            }
            body += "],\"next_since\":" + std::to_string(page.next_after) + "}";
            shared->respond(json_response(shared->req, status::ok, std::move(body)));
          },
          [shared](caf::error& err) {
            problem(*shared, status::service_unavailable, "history: " + caf::to_string(err));
          });
    });
  }

  void sse(call& c) {
    auto scopes = authenticate(c, true);
    if (!scopes)
      return;
    sse_request r;
    auto pattern = read_pattern(c);
    if (!pattern)
      return;
    r.pattern = std::move(*pattern);
    // Last-Event-ID (what an EventSource sends when it reconnects) wins over
    // the ?since= the page was opened with.
    auto query = c.target.query;
    auto last_id = c.req["Last-Event-ID"];
    if (!last_id.empty())
      query["since"] = std::string(last_id.data(), last_id.size());
    if (query.count("since")) {
      uint64_t since = 0;
      std::string error;
      if (!read_number(query, "since", since, error))
        return problem(c, status::bad_request,
                       last_id.empty() ? error : "Last-Event-ID must be a non-negative integer (a seq)");
      r.resume_after = since;
    }
    if (!may_subscribe(*scopes, r.pattern))
      return forbidden(c, "the token may not subscribe to \"" + r.pattern + "\"");
    r.version = c.req.version();
    start_sse(sse_context{feed_context(), ctx_.sse_heartbeat, ctx_.probe},
              std::move(r), std::move(c.respond));
  }

  // The token comes as for SSE (browsers' WebSocket cannot set headers
  // either); every later check happens per message in the protocol.
  void websocket(call& c) {
    auto scopes = authenticate(c, true);
    if (!scopes)
      return;
    if (!ws::is_upgrade(c.req)) {
      auto res = http::make_problem(status::upgrade_required,
                                    "GET /v1/ws is a WebSocket: send Connection: Upgrade and "
                                    "Upgrade: websocket",
                                    c.req.version(), c.req.keep_alive());
      res.set(bhttp::field::upgrade, "websocket");
      return c.respond(std::move(res));
    }
    websocket_.serve(std::move(c.req), c.respond, std::move(*scopes));
  }

  event_feed_context feed_context() const {
    return {ctx_.controller, ctx_.reader, ctx_.gateway, ctx_.subscriber_queue_limit};
  }

  void find(call& c, std::string id) {
    auto scopes = authenticate(c);
    if (!scopes)
      return;
    auto self = shared_from_this();
    auto shared = std::make_shared<call>(std::move(c));
    auto allowed = std::make_shared<scope_list>(std::move(*scopes));
    run_in_gateway(ctx_.gateway, [self, shared, allowed, id](caf::event_based_actor* gw) {
      gw->request(self->ctx_.reader, actor_timeout, find_atom::value, id)
        .then(
          [gw, self, shared, allowed, id](const std::optional<event>& found) {
            if (!found)
              return problem(*shared, status::not_found, "no retained event has id \"" + id + "\"");
            if (!may_subscribe(*allowed, found->topic))
              return self->forbidden(*shared, "the token may not read \"" + found->topic + "\"");
            auto body = render_event(*found);
            body.pop_back();
            render_event_deliveries(gw, self->ctx_, *found, [shared, body](std::string deliveries) mutable {
              body += ",\"deliveries\":" + deliveries + "}";
              shared->respond(json_response(shared->req, status::ok, std::move(body)));
            });
          },
          [shared](caf::error& err) {
            problem(*shared, status::service_unavailable, "lookup: " + caf::to_string(err));
          });
    });
  }

  void cluster_state(call& c) {
    auto scopes = authenticate(c);
    if (!scopes)
      return;
    if (!is_admin(*scopes))
      return forbidden(c, "only an admin token may read the cluster state");
    std::optional<std::string> owner_key;
    if (auto it = c.target.query.find("owner_of"); it != c.target.query.end())
      owner_key = it->second;
    if (!ctx_.cluster_manager) {
      json alone = render_cluster(cluster::cluster_view{ctx_.node_name, "", 0, {}, {}, {ctx_.node_name}});
      if (owner_key)
        alone["owner"] = ctx_.node_name;
      return c.respond(json_response(c.req, status::ok, alone.dump()));
    }
    auto self = shared_from_this();
    auto shared = std::make_shared<call>(std::move(c));
    run_in_gateway(ctx_.gateway, [self, shared, owner_key](caf::event_based_actor* gw) {
      gw->request(self->ctx_.cluster_manager, actor_timeout, cluster::cluster_atom::value)
        .then(
          [shared, owner_key](const cluster::cluster_view& view) {
            auto body = render_cluster(view);
            if (owner_key)
              body["owner"] = cluster::rendezvous_owner(*owner_key, view.live_names);
            shared->respond(json_response(shared->req, status::ok, body.dump()));
          },
          [shared](caf::error& err) {
            problem(*shared, status::service_unavailable, "cluster state: " + caf::to_string(err));
          });
    });
  }

  // An admin resource (`what` names it in the 403): authenticated here,
  // answered by `serve`.
  void admin_resource(call& c, const char* what,
                      void (*serve)(const http_api_context&, admin_call, http::responder)) {
    auto scopes = authenticate(c);
    if (!scopes)
      return;
    if (!is_admin(*scopes))
      return forbidden(c, std::string("only an admin token may manage ") + what);
    serve(ctx_,
           admin_call{c.req.method(), c.target.path, c.target.query, std::move(c.req.body()), c.req.version(),
                      c.req.keep_alive()},
           std::move(c.respond));
  }

  void create_token(call& c) {
    auto scopes = authenticate(c);
    if (!scopes)
      return;
    if (!is_admin(*scopes))
      return forbidden(c, "only an admin token may create tokens");
    std::vector<std::string> requested;
    try {
      auto body = json::parse(c.req.body());
      if (!body.is_object() || !body.contains("scopes") || !body["scopes"].is_array() ||
          body["scopes"].empty())
        return problem(c, status::bad_request, "body must be {\"scopes\": [at least one scope]}");
      for (const auto& s : body["scopes"]) {
        if (!s.is_string())
          return problem(c, status::bad_request, "every scope must be a string");
        std::string error;
        if (!parse_scope(s.get<std::string>(), error))
          return problem(c, status::bad_request, error);
        requested.push_back(s.get<std::string>());
      }
    } catch (const json::parse_error& e) {
      return problem(c, status::bad_request, std::string("body is not valid JSON: ") + e.what());
    }
    auto self = shared_from_this();
    auto shared = std::make_shared<call>(std::move(c));
    run_in_gateway(ctx_.gateway, [self, shared, requested](caf::event_based_actor* gw) {
      gw->request(self->ctx_.controller, actor_timeout, token_atom::value, requested)
        .then(
          [shared, requested](const std::string& token) {
            shared->respond(json_response(shared->req, status::created,
                                          json{{"token", token}, {"scopes", requested}}.dump()));
          },
          [shared](caf::error& err) {
            problem(*shared, status::service_unavailable, "token: " + caf::to_string(err));
          });
    });
  }

  http_api_context ctx_;
  ws_endpoint websocket_;
};

} // namespace

http::response publish_answer(const publish_reply& reply, bool batch, unsigned version, bool keep_alive) {
  if (!reply.error.empty()) {
    auto res = http::make_problem(status::service_unavailable, "the event was not stored: " + reply.error, version,
                                  keep_alive);
    res.set(bhttp::field::retry_after, "1");
    return res;
  }
  json acks = json::array();
  for (const auto& ack : reply.acks) {
    json one{{"id", ack.id}, {"seq", ack.seq}};
    if (ack.duplicate)
      one["duplicate"] = true;
    acks.push_back(std::move(one));
  }
  http::response res{status::accepted, version};
  res.set(bhttp::field::content_type, "application/json");
  res.keep_alive(keep_alive);
  res.body() = batch ? acks.dump() : acks[0].dump();
  return res;
}

http::handler make_http_api(http_api_context context) {
  auto instance = std::make_shared<api>(std::move(context));
  return [instance](http::request&& req, http::responder respond) {
    instance->handle(std::move(req), std::move(respond));
  };
}

} // namespace evmesh
