// evmesh::node: builds the actor system and the node's actors, wires them,
// starts the HTTP edge if configured, and takes them down in order on stop():
// no new requests, in-flight publishes made durable, actors exited, store
// closed (SQLite checkpoints the WAL on close).
#include <evmesh/caf.hpp>
#include <evmesh/node.hpp>

#include "actors/bridge_manager.hpp"
#include "actors/controller.hpp"
#include "actors/delivery_manager.hpp"
#include "actors/gateway.hpp"
#include "actors/lease_keeper.hpp"
#include "actors/publisher.hpp"
#include "model/envelope.hpp"
#include "actors/router.hpp"
#include "actors/store_reader.hpp"
#include "actors/store_writer.hpp"
#include "cluster/listener.hpp"
#include "cluster/manager.hpp"
#include "cluster/member_table.hpp"
#include "node/admin_token.hpp"
#include "http/http_api.hpp"
#include "store/store_location.hpp"
#include "transports/http_server.hpp"
#include "transports/webhook_client.hpp"
#include "transports/ws_client_connection.hpp"
#include "base/host_port.hpp"
#include "base/log_line.hpp"
#include "base/ssrf_guard.hpp"

#include <evmesh/topic.hpp>

#include <caf/all.hpp>

#include <atomic>
#include <mutex>
#include <thread>
#include <unistd.h>

namespace evmesh {
namespace {

constexpr auto ask_timeout = std::chrono::seconds{30};

std::string host_name() {
  char buffer[256] = {};
  if (::gethostname(buffer, sizeof buffer - 1) != 0 || buffer[0] == '\0')
    return "evmesh";
  return buffer;
}

std::pair<std::string, uint16_t> split_host_port(const std::string& address) {
  host_port parsed;
  switch (parse_host_port(address, parsed)) {
    case host_port_errc::ok:
      return {parsed.host, parsed.port};
    case host_port_errc::not_host_port:
      throw error(errc::malformed, "\"" + address + "\" is not HOST:PORT");
    case host_port_errc::bad_port:
      break;
  }
  throw error(errc::malformed, "\"" + address + "\" has no valid port");
}

// The public code for a broken envelope rule, one for one.
errc public_code(envelope_errc code) {
  switch (code) {
    case envelope_errc::invalid_topic: return errc::invalid_topic;
    case envelope_errc::data_too_large: return errc::too_large;
    case envelope_errc::reserved_topic: return errc::reserved_topic;
    case envelope_errc::invalid_id: return errc::invalid_id;
    case envelope_errc::invalid_header: return errc::invalid_header;
    case envelope_errc::invalid_json:
    case envelope_errc::ok: break;  // ok never reaches here
  }
  return errc::invalid_data;
}

void configure_caf(caf::actor_system_config& cfg, int worker_threads) {
  auto cores = static_cast<int>(std::thread::hardware_concurrency());
  auto workers = worker_threads > 0 ? worker_threads : std::max(2, cores);
  cfg.set("scheduler.max-threads", workers);
  // Idle workers otherwise spin-sleep in 50 µs steps before blocking, which
  // adds ~100 µs to every request that arrives from an io thread (see the
  // CAF field guide, section 5.4).
  cfg.set("work-stealing.moderate-poll-attempts", 0);
}

// The records still in force: what the controller and the bridge manager
// start from (the cluster's last-writer-wins gets the tombstones too).
std::vector<registry_record> without_tombstones(std::vector<registry_record> records) {
  std::erase_if(records, [](const registry_record& r) { return r.deleted(); });
  return records;
}

ws::options websocket_options(const node_config& config) {
  ws::options options;
  options.idle_timeout = config.ws_idle_timeout;
  options.max_message_bytes = config.ws_max_message_bytes;
  options.max_queued_messages = config.ws_send_queue_messages;
  options.max_queued_bytes = config.ws_send_queue_bytes;
  return options;
}

// Whether a cluster bind host reaches only this machine: a loopback address
// (127/8, ::1, or an IPv6 form of 127/8) or the name "localhost". Anything
// else — a wildcard (0.0.0.0, ::, *), an interface address or name, any
// other host name — may be reachable from outside.
bool loopback_bind_host(std::string host) {
  if (!host.empty() && host.back() == '.')
    host.pop_back();
  std::transform(host.begin(), host.end(), host.begin(), [](unsigned char c) { return std::tolower(c); });
  if (host == "localhost")
    return true;
  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address(host, ec);
  return !ec && classify_address(address) == address_class::loopback;
}

// The safe default of the cluster port: plain TCP links make anyone who can
// reach the port a member (able to write registry records, tokens
// included), so without --cluster-key the port stays on loopback unless the
// operator says --insecure-cluster, which is logged.
void check_cluster_exposure(const node_config& config) {
  if (!config.cluster || !config.cluster_key.empty())
    return;
  auto host = split_host_port(*config.cluster).first;
  if (loopback_bind_host(host))
    return;
  if (!config.insecure_cluster)
    throw error(errc::insecure_config,
                "refusing to start: the cluster port " + *config.cluster +
                  " is not on loopback and no --cluster-key is set, so anyone who reaches it would be a cluster "
                  "member; set --cluster-key SECRET on every node (or --insecure-cluster to run without one)");
  log_line() << "evmesh: warning: --insecure-cluster: the cluster port " << *config.cluster
             << " is not on loopback and has no --cluster-key; anyone who reaches it is a cluster member "
                "and can write registry records (tokens included)";
}

} // namespace

struct node::impl {
  node_config config;
  store_location where;
  // Each subsystem's probe, and the one registry that renders them all at
  // GET /metrics (filled in below, before anything can scrape it).
  store_probe store_metrics;
  routing_probe routing_metrics;
  http_probe http_metrics;
  cluster::cluster_probe cluster_metrics;
  webhook_probe webhook_metrics;
  ingest_probe ingest_metrics;
  metrics_registry metrics{"evmesh_"};
  std::string admin_token;
  std::atomic<auth_table_ptr> auth{std::make_shared<const auth_table>()};
  // Written by the controller, read by the ingest edge on every request.
  std::atomic<source_table_ptr> sources{std::make_shared<const source_table>()};
  caf::actor_system_config caf_config;
  std::unique_ptr<caf::actor_system> system;
  store_writer_actor writer;
  store_reader_actor reader;
  router_actor router;
  publisher_actor publisher;
  controller_actor controller;
  delivery_manager_actor delivery_manager;
  lease_keeper_actor lease_keeper;  // shared store only
  std::shared_ptr<webhook::client_pool> webhook_client;
  // The bridges' connections; destroyed after the actor system (the bridge
  // actors hold connections into it).
  std::unique_ptr<ws_client::runner> bridge_connections;
  caf::actor bridge_manager;
  caf::actor gateway;
  std::unique_ptr<http::server> http_server;
  std::unique_ptr<zmq::context_t> zmq_context;  // outlives the cluster actors' sockets
  cluster::listener_actor cluster_listener;
  cluster::manager_actor cluster_manager;
  std::string cluster_addr;
  // The cluster's live member names (sorted; null when not clustered): who
  // owns which webhook endpoint. Written by the cluster manager, read by the
  // delivery manager, as an immutable snapshot like the auth table.
  std::atomic<std::shared_ptr<const std::vector<std::string>>> live_members;
  std::once_flag stopped;

  explicit impl(node_config cfg) : config(std::move(cfg)) {
    if (config.name.empty())
      config.name = host_name();
    if (config.http)
      split_host_port(*config.http);  // refuse a bad address before starting anything
    check_cluster_exposure(config);   // before anything is created or bound
    admin_token = resolve_admin_token(config.data_dir, config.admin_token);

    retention_policy retention{
      std::chrono::duration_cast<std::chrono::microseconds>(config.retention_max_age).count(),
      config.retention_max_bytes};
    where = parse_store_location(config.store, config.data_dir, config.name);
    auto writable = open_store(where, store_access::read_write);
    auto deliveries = open_delivery_store(where);
    auto startup_retention = retention;
    startup_retention.keep_from_seq = deliveries->retention_floor();
    store_metrics.register_in(metrics);
    routing_metrics.register_in(metrics);
    http_metrics.register_in(metrics);
    cluster_metrics.register_in(metrics, config.cluster.has_value());
    webhook_metrics.register_in(metrics);
    ingest_metrics.register_in(metrics);
    store_metrics.retention_deleted += writable->enforce_retention(startup_retention, now_us());  // before serving
    std::vector<registry_record> registry;  // every replicated kind, tombstones included
    auto load = [&](const char* kind) {
      auto records = writable->load_records(kind);
      registry.insert(registry.end(), records.begin(), records.end());
      return records;
    };
    auto tokens = without_tombstones(load("token"));
    auto endpoints = without_tombstones(load("endpoint"));
    auto bridges = without_tombstones(load(bridge_record_kind));
    auto sources_stored = load("source");  // tombstones stay: a name created again continues their version
    auto peer_cursors = writable->load_peer_cursors();
    auto readable = open_store(where, store_access::read_only);

    configure_caf(caf_config, config.worker_threads);
    system = std::make_unique<caf::actor_system>(caf_config);
    auto& sys = *system;

    writer = spawn_store_writer(sys, std::move(writable), std::move(deliveries), retention,
                                std::chrono::duration_cast<std::chrono::milliseconds>(
                                  config.retention_interval),
                                store_metrics);
    reader = spawn_store_reader(sys, std::move(readable));
    router = spawn_router(sys, routing_metrics);
    publisher = spawn_publisher(sys, writer, router, config.max_batch_events, store_metrics);
    auto initial_auth = make_auth_table(tokens, token_hash(admin_token));
    auth.store(std::make_shared<const auth_table>(initial_auth));
    webhook::client_options client_options;
    client_options.allow_private_targets = config.allow_private_targets;
    webhook_client = std::make_shared<webhook::client_pool>(client_options);
    delivery_manager_setup delivery;
    delivery.writer = writer;
    delivery.reader = reader;
    delivery.router = router;
    delivery.client = webhook_client;
    delivery.retry_schedule = config.retry_schedule;
    delivery.request_timeout = config.webhook_timeout;
    delivery.disable_after_us =
      std::chrono::duration_cast<std::chrono::microseconds>(config.webhook_disable_after).count();
    delivery.probe = &webhook_metrics;
    delivery.owns = [this](const std::string& endpoint_id) { return owner_of(endpoint_id) == config.name; };
    if (auto leases = open_lease_table(where, config.delivery_lease)) {
      lease_keeper = spawn_lease_keeper(sys, std::move(leases));
      delivery.lease_keeper = lease_keeper;
      delivery.lease = config.delivery_lease;
    }
    delivery_manager = spawn_delivery_manager(sys, std::move(delivery));
    gateway = spawn_gateway(sys);
    ws_client::options bridge_client;
    bridge_client.allow_private_targets = config.allow_private_targets;
    bridge_client.max_message_bytes = config.ws_max_message_bytes;
    bridge_connections = std::make_unique<ws_client::runner>(bridge_client);
    bridge_manager_setup bridging;
    bridging.node_name = config.name;
    bridging.owner_of = [this](const std::string& bridge_id) { return owner_of(bridge_id); };
    bridging.writer = writer;
    bridging.publisher = publisher;
    bridging.reader = reader;
    bridging.gateway = gateway;
    bridging.connections = bridge_connections.get();
    bridging.records = std::move(bridges);
    bridging.allow_private_targets = config.allow_private_targets;
    bridging.subscriber_queue_limit = config.subscriber_queue_limit;
    bridging.limits.backoff_min = config.bridge_backoff_min;
    bridging.limits.backoff_max = std::max(config.bridge_backoff_max, config.bridge_backoff_min);
    bridge_manager = spawn_bridge_manager(sys, std::move(bridging));
    controller_setup control;
    control.writer = writer;
    control.router = router;
    control.tokens = std::move(initial_auth);
    control.publish_auth = [this](auth_table_ptr table) { auth.store(std::move(table)); };
    control.routing = &routing_metrics;
    control.webhooks = &webhook_metrics;
    control.publisher = publisher;
    control.delivery_manager = caf::actor_cast<caf::actor>(delivery_manager);
    control.endpoint_records = std::move(endpoints);
    control.allow_private_targets = config.allow_private_targets;
    control.bridge_manager = bridge_manager;
    control.source_records = std::move(sources_stored);
    control.publish_sources = [this](source_table_ptr table) { sources.store(std::move(table)); };
    controller = spawn_controller(sys, std::move(control));
    caf::anon_send(delivery_manager, controller);
    caf::anon_send(bridge_manager, controller);

    try {
      if (config.cluster)
        start_cluster(std::move(peer_cursors), std::move(registry));
      if (config.http)
        start_http();
    } catch (...) {
      stop();  // the actors are running: take them down before unwinding
      throw;
    }
  }

  // The live member that owns `key` (a webhook endpoint or bridge id):
  // rendezvous hashing over the live names; this node when not clustered.
  std::string owner_of(const std::string& key) const {
    auto live = live_members.load();
    return live ? cluster::rendezvous_owner(key, *live) : config.name;
  }

  void start_cluster(std::map<std::string, uint64_t> peer_cursors,
                     std::vector<registry_record> registry) {
    split_host_port(*config.cluster);
    auto& sys = *system;
    uint64_t incarnation = static_cast<uint64_t>(now_us());
    std::optional<cluster::curve_keys> curve;
    if (!config.cluster_key.empty())
      curve = cluster::derive_curve_keys(config.cluster_key);
    zmq_context = std::make_unique<zmq::context_t>(1);
    auto sockets = cluster::bind_listener(*zmq_context, *config.cluster, curve);
    cluster_addr = sockets.addr;

    cluster::manager_setup ms;
    ms.name = config.name;
    ms.addr = cluster_addr;
    ms.incarnation = incarnation;
    ms.seeds = config.join;
    ms.heartbeat = config.cluster_heartbeat;
    ms.suspect_after = config.cluster_suspect_after;
    ms.dead_after = config.cluster_dead_after;
    ms.probe = &cluster_metrics;
    ms.publisher = publisher;
    ms.writer = writer;
    ms.controller = controller;
    ms.records = std::move(registry);
    ms.delivery_manager = caf::actor_cast<caf::actor>(delivery_manager);
    ms.live_changed = [this](std::vector<std::string> names) {
      live_members.store(std::make_shared<const std::vector<std::string>>(std::move(names)));
      caf::anon_send(bridge_manager, br_owners_atom::value);
    };
    auto& link = ms.link_template;
    link.self_name = config.name;
    link.self_addr = cluster_addr;
    link.incarnation = incarnation;
    link.context = zmq_context.get();
    link.curve = curve;
    link.open_store = [where = where] { return open_store(where, store_access::read_only); };
    link.router = router;
    link.heartbeat = config.cluster_heartbeat;
    link.probe = &cluster_metrics;
    cluster_manager = cluster::spawn_manager(sys, std::move(ms));

    cluster::listener_setup ls;
    ls.name = config.name;
    ls.bind_addr = cluster_addr;
    ls.incarnation = incarnation;
    ls.curve = curve;
    ls.publisher = publisher;
    ls.manager = cluster_manager;
    ls.cursors = std::move(peer_cursors);
    ls.probe = &cluster_metrics;
    cluster_listener = cluster::spawn_listener(sys, std::move(sockets), std::move(ls));
    caf::anon_send(cluster_manager, cluster::listener_atom::value, cluster_listener);
    caf::anon_send(router, watch_atom::value, caf::actor_cast<caf::actor>(cluster_manager));
    caf::anon_send(writer, watch_atom::value, caf::actor_cast<caf::actor>(cluster_manager));
  }

  void start_http() {
    auto [host, port] = split_host_port(*config.http);
    http::server_options options;
    options.host = host;
    options.port = port;
    options.max_body_bytes = config.max_body_bytes;
    options.threads = std::max(1, config.http_threads);
    // The handler reads the server's connection count through this pointer;
    // the server outlives every request it hands out.
    auto server_slot = std::make_shared<http::server*>(nullptr);
    http_server = std::make_unique<http::server>(
      options, make_http_api(http_api_context{
                 config.name, where.describe(), publisher, reader, writer, controller, caf::actor_cast<caf::actor>(delivery_manager), bridge_manager, gateway,
                 caf::actor_cast<caf::actor>(cluster_manager),
                 [this] { return auth.load(); },
                 [server_slot] { return *server_slot ? (*server_slot)->open_connections() : 0; },
                 config.subscriber_queue_limit, config.sse_heartbeat, websocket_options(config),
                 &http_metrics, &ingest_metrics, &store_metrics, &metrics, [this] { return sources.load(); }}));
    *server_slot = http_server.get();
    http_server->start();
  }

  void stop() {
    std::call_once(stopped, [this] {
      if (http_server) {
        http_server->stop();
        http_server.reset();  // its handler holds actor handles
      }
      {
        caf::scoped_actor self{*system};
        self->request(publisher, std::chrono::seconds{30}, flush_atom::value)
          .receive([](bool) {},
                   [](caf::error& err) {
                     log_line() << "evmesh: flushing publishes at stop failed: "
                                << caf::to_string(err);
                   });
        // Webhook progress (cursors, retry rows, attempt log) to disk.
        self->request(delivery_manager, std::chrono::seconds{30}, flush_atom::value)
          .receive([](bool) {},
                   [](caf::error& err) {
                     log_line() << "evmesh: flushing webhook progress at stop failed: "
                                << caf::to_string(err);
                   });
        // Shared store: the other nodes take this node's endpoints over now.
        self->request(delivery_manager, std::chrono::seconds{10}, release_atom::value)
          .receive([](bool) {}, [](caf::error&) {});
      }
      // The cluster goes first: links stop sending, the listener stops
      // taking events in (peers resend what was not acked).
      for (auto actor : {caf::actor_cast<caf::actor>(cluster_manager), caf::actor_cast<caf::actor>(cluster_listener)})
        if (actor)
          caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
      cluster_manager = nullptr;
      cluster_listener = nullptr;
      webhook_client->stop();
      for (auto actor : {bridge_manager, caf::actor_cast<caf::actor>(delivery_manager),
                         caf::actor_cast<caf::actor>(lease_keeper), caf::actor_cast<caf::actor>(controller), caf::actor_cast<caf::actor>(publisher),
                         caf::actor_cast<caf::actor>(router), caf::actor_cast<caf::actor>(reader),
                         caf::actor_cast<caf::actor>(writer), gateway})
        if (actor)
          caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
      delivery_manager = nullptr;
      lease_keeper = nullptr;
      bridge_manager = nullptr;
      controller = nullptr;
      publisher = nullptr;
      router = nullptr;
      reader = nullptr;
      writer = nullptr;
      gateway = nullptr;
      bridge_connections->stop();  // no callback runs from here on
      system.reset();  // waits for every actor to finish
      bridge_connections.reset();
      zmq_context.reset();  // every socket is closed by now
      webhook_client.reset();
    });
  }
};

subscription& subscription::operator=(subscription&& other) noexcept {
  if (this != &other) {
    cancel();
    id_ = other.id_;
    cancel_ = std::move(other.cancel_);
  }
  return *this;
}

subscription::~subscription() { cancel(); }

void subscription::cancel() {
  if (auto fn = std::move(cancel_)) {
    cancel_ = nullptr;
    fn();
  }
}

node::node(node_config config) : impl_(std::make_unique<impl>(std::move(config))) {}

node::~node() { stop(); }

void node::stop() { impl_->stop(); }

std::future<publish_result> node::publish(const std::string& topic, std::string data,
                                          publish_options options) {
  event draft;
  draft.topic = topic;
  draft.id = std::move(options.id);
  draft.binary = options.binary;
  draft.data = std::move(data);
  draft.headers = std::move(options.headers);
  auto verdict = check_envelope(draft);
  if (verdict.ok() && !draft.binary)
    verdict = normalize_json_data(draft.data);
  if (!verdict.ok()) {
    impl_->store_metrics.events_rejected.fetch_add(1, std::memory_order_relaxed);
    throw error(public_code(verdict.code), verdict.message);
  }
  auto promise = std::make_shared<std::promise<publish_result>>();
  auto future = promise->get_future();
  std::vector<event> batch;
  batch.push_back(std::move(draft));
  caf::anon_send(impl_->publisher, publish_atom::value, std::move(batch),
                 publish_callback{[promise](publish_reply reply) {
                   if (!reply.error.empty()) {
                     promise->set_exception(
                       std::make_exception_ptr(error(errc::unavailable, reply.error)));
                     return;
                   }
                   const auto& ack = reply.acks.front();
                   promise->set_value({ack.id, ack.seq, ack.duplicate});
                 }});
  return future;
}

namespace {

// Lets cancel() promise that no callback runs after it returns: the callback
// runs under the guard's lock and checks `live` first. The mutex is recursive
// so a callback may cancel its own subscription.
struct callback_guard {
  std::recursive_mutex lock;
  bool live = true;
};

} // namespace

subscription node::subscribe(const std::string& pattern, std::function<void(const event&)> on_event,
                             std::function<void(const std::string&)> on_close) {
  if (auto why = check_pattern(pattern); !why.empty())
    throw error(errc::invalid_pattern, why);
  auto guard = std::make_shared<callback_guard>();
  subscriber_target target;
  target.on_event = [guard, fn = std::move(on_event)](const event& e) {
    std::lock_guard<std::recursive_mutex> hold(guard->lock);
    if (guard->live)
      fn(e);
  };
  if (on_close)
    target.on_close = [guard, fn = std::move(on_close)](const std::string& reason) {
      std::lock_guard<std::recursive_mutex> hold(guard->lock);
      if (guard->live)
        fn(reason);
    };
  auto sub = subscribe_target(pattern, std::move(target));
  auto cancel_inner = std::move(sub.cancel_);
  sub.cancel_ = [guard, cancel_inner] {
    {
      std::lock_guard<std::recursive_mutex> hold(guard->lock);
      guard->live = false;
    }
    cancel_inner();
  };
  return sub;
}

// evmesh/caf.hpp: what a CAF host may reach inside a node.
struct caf_access {
  static caf::actor_system& system(node& n) { return *n.impl_->system; }
  static subscription subscribe(node& n, const std::string& pattern, subscriber_target target) {
    return n.subscribe_target(pattern, std::move(target));
  }
};

caf::actor_system& system_of(node& n) { return caf_access::system(n); }

subscription subscribe(node& n, const std::string& pattern, caf::actor target_actor) {
  if (auto why = check_pattern(pattern); !why.empty())
    throw error(errc::invalid_pattern, why);
  subscriber_target target;
  target.host_actor = std::move(target_actor);
  return caf_access::subscribe(n, pattern, std::move(target));
}

subscription node::subscribe_target(const std::string& pattern, subscriber_target target) {
  subscriber_id id = 0;
  {
    caf::scoped_actor self{*impl_->system};
    self->request(impl_->controller, ask_timeout, subscribe_atom::value, pattern, std::move(target),
                  static_cast<uint64_t>(impl_->config.subscriber_queue_limit))
      .receive([&](subscriber_id assigned) { id = assigned; },
               [](caf::error& err) {
                 throw error(errc::unavailable, "subscribe failed: " + caf::to_string(err));
               });
  }
  // The subscription may outlive the node: it holds the controller weakly.
  caf::weak_actor_ptr controller = caf::actor_cast<caf::weak_actor_ptr>(impl_->controller);
  return subscription{id, [controller, id] {
                        if (auto strong = caf::actor_cast<controller_actor>(controller.lock()))
                          caf::anon_send(strong, unsub_atom::value, id);
                      }};
}

std::vector<event> node::history(const std::string& pattern, uint64_t after_seq, std::size_t limit) {
  if (auto why = check_pattern(pattern); !why.empty())
    throw error(errc::invalid_pattern, why);
  std::vector<event> out;
  caf::scoped_actor self{*impl_->system};
  while (out.size() < limit) {
    history_page page;
    self->request(impl_->reader, ask_timeout, history_atom::value,
                  history_query{pattern, after_seq, limit - out.size()})
      .receive([&](history_page& p) { page = std::move(p); },
               [](caf::error& err) {
                 throw error(errc::unavailable, "history failed: " + caf::to_string(err));
               });
    if (!page.error.empty())
      throw error(errc::unavailable, page.error);
    for (auto& e : page.events)
      out.push_back(std::move(e));
    if (page.next_after == after_seq)
      break;  // nothing more retained
    after_seq = page.next_after;
  }
  return out;
}

const node_config& node::config() const { return impl_->config; }
uint16_t node::http_port() const { return impl_->http_server ? impl_->http_server->port() : 0; }
const std::string& node::admin_token() const { return impl_->admin_token; }
std::string node::cluster_address() const { return impl_->cluster_addr; }
std::string node::store_description() const { return impl_->where.describe(); }

} // namespace evmesh
