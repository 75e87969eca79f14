// `evmesh node`: runs a node until SIGINT or SIGTERM, then stops it cleanly
// (no new requests, in-flight publishes made durable, store closed) and
// exits 0. Prints one line when it serves, which scripts and tests wait for:
//   evmesh: node NAME serving http://HOST:PORT (data DIR, store WHERE, cluster ADDR)
#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "store/store_location.hpp"

#include <evmesh/node.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <iostream>

namespace evmesh {
namespace {

uint64_t parse_count(const std::string& name, const std::string& value) {
  try {
    std::size_t used = 0;
    auto n = std::stoull(value, &used);
    if (used == value.size())
      return n;
  } catch (const std::exception&) {
  }
  throw usage_error("--" + name + " needs a non-negative integer, not \"" + value + "\"");
}

// A number of seconds (fractions allowed) in (0, 86400], or [0, 86400] with
// `zero_allowed`; as milliseconds, at least 1 unless zero.
std::chrono::milliseconds parse_seconds(const std::string& name, const std::string& value,
                                        bool zero_allowed) {
  double seconds = -1;
  try {
    std::size_t used = 0;
    seconds = std::stod(value, &used);
    if (used != value.size())
      seconds = -1;
  } catch (const std::exception&) {
  }
  if (!((seconds > 0 || (zero_allowed && seconds == 0)) && seconds <= 86400))
    throw usage_error("--" + name + " needs a number of seconds (" + (zero_allowed ? "0 <= S" : "0 < S") +
                      " <= 86400), not \"" + value + "\"");
  std::chrono::milliseconds ms{static_cast<int64_t>(seconds * 1000 + 0.5)};
  return seconds > 0 ? std::max(ms, std::chrono::milliseconds{1}) : ms;
}

std::vector<std::string> split_list(const std::string& value) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= value.size()) {
    auto comma = value.find(',', start);
    auto item = value.substr(start, comma - start);
    if (!item.empty())
      out.push_back(item);
    if (comma == std::string::npos)
      break;
    start = comma + 1;
  }
  return out;
}

void add_node_options(option_parser& parser, node_config& cfg) {
  parser.allow_config_file();
  parser.add({"name", "NAME", "node name (default: the host name)",
              [&](const std::string& v) { cfg.name = v; }});
  parser.add({"data", "DIR", "data directory (default ./evmesh-data)",
              [&](const std::string& v) { cfg.data_dir = v; }});
  parser.add({"store", "URL",
              "durable store: empty for SQLite in --data, or postgres://USER:PASSWORD@HOST:PORT/DB "
              "shared by the cluster (docs/STORAGE.md)",
              [&](const std::string& v) {
                try {
                  parse_store_location(v, cfg.data_dir, cfg.name);  // refuse other schemes up front
                } catch (const error& e) {
                  throw usage_error(e.what());
                }
                cfg.store = v;
              }});
  parser.add({"http", "HOST:PORT", "HTTP API address (default 127.0.0.1:8080; port 0 picks one)",
              [&](const std::string& v) { cfg.http = v; }});
  parser.add({"cluster", "HOST:PORT", "address peers reach this node on (default 127.0.0.1:7400; port 0 picks one)",
              [&](const std::string& v) { cfg.cluster = v; }});
  parser.add({"join", "HOST:PORT,...", "cluster addresses of nodes to join (any member works as a seed)",
              [&](const std::string& v) { cfg.join = split_list(v); }});
  parser.add({"cluster-key", "SECRET", "shared cluster secret: links use CURVE and refuse peers without it",
              [&](const std::string& v) { cfg.cluster_key = v; }});
  parser.add({"insecure-cluster", "",
              "allow a cluster port off loopback without --cluster-key (plain TCP: anyone who reaches it is a "
              "member); logged as a warning",
              [&](const std::string&) { cfg.insecure_cluster = true; }});
  parser.add({"heartbeat", "MS", "cluster ping interval in ms (default 500); suspect after 4, dead after 12 missed",
              [&](const std::string& v) {
                auto ms = parse_count("heartbeat", v);
                if (ms == 0 || ms > 60000)
                  throw usage_error("--heartbeat needs 1..60000 milliseconds");
                cfg.cluster_heartbeat = std::chrono::milliseconds{ms};
                cfg.cluster_suspect_after = 4 * cfg.cluster_heartbeat;
                cfg.cluster_dead_after = 12 * cfg.cluster_heartbeat;
              }});
  parser.add({"admin-token", "TOKEN", "admin token (default: <data>/admin.token, created if missing)",
              [&](const std::string& v) { cfg.admin_token = v; }});
  parser.add({"allow-private-targets", "", "allow webhook targets on loopback, private and link-local addresses",
              [&](const std::string&) { cfg.allow_private_targets = true; }});
  parser.add({"webhook-disable-after", "SECONDS",
              "disable an endpoint after this long without a successful delivery (default 432000 = 5 days)",
              [&](const std::string& v) {
                auto seconds = parse_count("webhook-disable-after", v);
                if (seconds == 0)
                  throw usage_error("--webhook-disable-after must be at least 1 second");
                cfg.webhook_disable_after = std::chrono::seconds{seconds};
              }});
  parser.add({"retry-schedule", "S,S,...", "webhook attempt delays in seconds (default 0,5,300,1800,7200,18000,36000,36000; fractions allowed)",
              [&](const std::string& v) {
                cfg.retry_schedule.clear();
                for (const auto& item : split_list(v)) {
                  try {
                    std::size_t used = 0;
                    auto seconds = std::stod(item, &used);
                    if (used != item.size() || !(seconds >= 0 && seconds <= 7 * 86400))
                      throw std::invalid_argument(item);
                    cfg.retry_schedule.push_back(seconds);
                  } catch (const std::exception&) {
                    throw usage_error("--retry-schedule: \"" + item + "\" is not a number of seconds (0..604800)");
                  }
                }
              }});
  parser.add({"delivery-lease", "SECONDS",
              "PostgreSQL store: how long a node's lease on delivering an endpoint lasts unrenewed; a dead "
              "node's endpoints move to live nodes within about this (default 10; fractions allowed)",
              [&](const std::string& v) {
                cfg.delivery_lease = parse_seconds("delivery-lease", v, false);
                if (cfg.delivery_lease < std::chrono::milliseconds{300})
                  throw usage_error("--delivery-lease must be at least 0.3 seconds");
              }});
  parser.add({"max-body", "BYTES", "largest HTTP request body (default 1048576)",
              [&](const std::string& v) { cfg.max_body_bytes = parse_count("max-body", v); }});
  parser.add({"retention-age", "SECONDS", "delete events older than this (default 604800; 0 keeps all)",
              [&](const std::string& v) {
                cfg.retention_max_age = std::chrono::seconds{parse_count("retention-age", v)};
              }});
  parser.add({"retention-bytes", "BYTES", "keep at most this much event data (default 1 GiB; 0 = no cap)",
              [&](const std::string& v) { cfg.retention_max_bytes = parse_count("retention-bytes", v); }});
  parser.add({"subscriber-queue-limit", "N",
              "events a subscriber or SSE stream may lag behind before it is dropped (default 65536)",
              [&](const std::string& v) {
                cfg.subscriber_queue_limit = parse_count("subscriber-queue-limit", v);
                if (cfg.subscriber_queue_limit == 0)
                  throw usage_error("--subscriber-queue-limit must be at least 1");
              }});
  parser.add({"sse-heartbeat", "SECONDS", "SSE comment heartbeat interval (default 15; fractions allowed)",
              [&](const std::string& v) { cfg.sse_heartbeat = parse_seconds("sse-heartbeat", v, false); }});
  parser.add({"bridge-backoff-min", "SECONDS", "WebSocket bridges: first reconnect delay (default 0.5)",
              [&](const std::string& v) { cfg.bridge_backoff_min = parse_seconds("bridge-backoff-min", v, false); }});
  parser.add({"bridge-backoff-max", "SECONDS", "WebSocket bridges: longest reconnect delay (default 30)",
              [&](const std::string& v) { cfg.bridge_backoff_max = parse_seconds("bridge-backoff-max", v, false); }});
  parser.add({"ws-idle-timeout", "SECONDS",
              "WebSocket: ping a client silent for half of this, close it after all of it "
              "(default 60; 0 = never)",
              [&](const std::string& v) { cfg.ws_idle_timeout = parse_seconds("ws-idle-timeout", v, true); }});
  parser.add({"ws-max-message", "BYTES", "WebSocket: largest message a client may send (default 1048576)",
              [&](const std::string& v) {
                cfg.ws_max_message_bytes = parse_count("ws-max-message", v);
                if (cfg.ws_max_message_bytes == 0)
                  throw usage_error("--ws-max-message must be at least 1");
              }});
  parser.add({"ws-queue-messages", "N",
              "WebSocket: messages a client may fall behind before it is closed with 1013 (default 4096)",
              [&](const std::string& v) {
                cfg.ws_send_queue_messages = parse_count("ws-queue-messages", v);
                if (cfg.ws_send_queue_messages == 0)
                  throw usage_error("--ws-queue-messages must be at least 1");
              }});
  parser.add({"ws-queue-bytes", "BYTES",
              "WebSocket: bytes a client may fall behind before it is closed with 1013 (default 4194304)",
              [&](const std::string& v) {
                cfg.ws_send_queue_bytes = parse_count("ws-queue-bytes", v);
                if (cfg.ws_send_queue_bytes == 0)
                  throw usage_error("--ws-queue-bytes must be at least 1");
              }});
  parser.add({"http-threads", "N", "HTTP io threads (default 2)",
              [&](const std::string& v) { cfg.http_threads = static_cast<int>(parse_count("http-threads", v)); }});
  parser.add({"workers", "N", "actor scheduler threads (default: the core count, at least 2)",
              [&](const std::string& v) { cfg.worker_threads = static_cast<int>(parse_count("workers", v)); }});
}

} // namespace

int run_node_command(const std::vector<std::string>& args) {
  node_config cfg;
  cfg.http = "127.0.0.1:8080";
  cfg.cluster = "127.0.0.1:7400";
  option_parser parser("evmesh node [options]",
                       "Runs an evmesh node: the HTTP API, the durable event log (SQLite in the\n"
                       "data directory, or PostgreSQL with --store) and the actors that route\n"
                       "events to subscribers.\n"
                       "Stops cleanly on SIGINT or SIGTERM.");
  add_node_options(parser, cfg);
  try {
    auto rest = parser.parse(args);
    if (!rest.empty() && rest.front() == "--help") {
      std::cout << parser.help();
      return 0;
    }
    if (!rest.empty())
      throw usage_error("unexpected argument \"" + rest.front() + "\"");
  } catch (const usage_error& e) {
    std::cerr << "evmesh node: " << e.what() << "\n\n" << parser.help();
    return 2;
  }

  // Block the stop signals in every thread the node starts; this thread
  // waits for them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  // std::cerr is tied to std::cout: a log line another thread writes to
  // stderr would flush a half-built stdout line (the serving line, which
  // scripts wait for) and land inside it. Untied, stdout leaves whole
  // lines at std::endl.
  std::cerr.tie(nullptr);
  try {
    node n{cfg};
    std::cout << "evmesh: node " << n.config().name << " serving http://"
              << cfg.http->substr(0, cfg.http->rfind(':')) << ":" << n.http_port() << " (data "
              << cfg.data_dir.string() << ", store " << n.store_description() << ", cluster "
              << n.cluster_address() << ")" << std::endl;
    int signal = 0;
    sigwait(&stop_signals, &signal);
    std::cout << "evmesh: " << (signal == SIGINT ? "SIGINT" : "SIGTERM") << ", stopping" << std::endl;
    n.stop();
    std::cout << "evmesh: stopped" << std::endl;
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "evmesh node: " << e.what() << std::endl;
    return 1;
  }
}

} // namespace evmesh
