// Parses cluster_bench's command line (see bench_options.hpp and usage below).
#include "bench_options.hpp"

#include "bench_message.hpp"

#include <iostream>
#include <set>
#include <sstream>
#include <stdexcept>

namespace cluster_bench {

const char* const usage =
  "usage: cluster_bench ROLE [--flag value ...]    (normally started by bench/cluster/run.sh)\n"
  "       cluster_bench free-ports N               (prints N free loopback TCP ports)\n"
  "roles: zmq-pull, zmq-push, nats-sub, nats-pub, evmesh-sub, evmesh-pub\n"
  "  --address HOST:PORT  zmq: PULL binds, PUSH connects; nats: server; evmesh: cluster bind\n"
  "  --join HOST:PORT,..  evmesh: seed nodes\n"
  "  --data DIR           evmesh: the node's data dir (must be fresh)\n"
  "  --payload BYTES      size of every message (default 100, at least 64)\n"
  "  --events N           load phase messages (default 200000)\n"
  "  --paced-events N     latency phase messages (default 2000)\n"
  "  --paced-rate R       latency phase messages per second (default 2000)\n"
  "  --window N           evmesh: publishes in flight at most (default 8192)\n"
  "  --ready-timeout S    fail if nothing gets through within S s (default 30)\n"
  "  --idle-timeout S     the subscriber stops after S s without messages (default 10)\n"
  "  --hold-timeout S     a publisher waits at most S s for SIGTERM at the end (default 120)\n"
  "A subscriber prints \"ready\" once it listens, then one \"result ...\" line; a publisher\n"
  "prints one \"result ...\" line and keeps its side up until SIGTERM.\n";

namespace {

const std::set<std::string> roles{"zmq-pull",   "zmq-push",  "nats-sub",
                                  "nats-pub",   "evmesh-sub", "evmesh-pub"};

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  for (std::string part; std::getline(in, part, ',');)
    if (!part.empty())
      parts.push_back(part);
  return parts;
}

template <class Number>
Number positive(const std::string& flag, const std::string& text) {
  std::size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size() || !(value > 0))
    throw std::invalid_argument(flag + " needs a positive number, not '" + text + "'");
  return static_cast<Number>(value);
}

} // namespace

std::optional<options> parse_options(int argc, char** argv) {
  options opt;
  try {
    if (argc < 2 || !roles.count(argv[1]))
      throw std::invalid_argument("the first argument must be a role");
    opt.role = argv[1];
    for (int i = 2; i < argc; i += 2) {
      std::string flag = argv[i];
      if (i + 1 >= argc)
        throw std::invalid_argument(flag + " needs a value");
      std::string value = argv[i + 1];
      if (flag == "--address")
        opt.address = value;
      else if (flag == "--join")
        opt.join = split_commas(value);
      else if (flag == "--data")
        opt.data_dir = value;
      else if (flag == "--payload")
        opt.payload_bytes = positive<std::size_t>(flag, value);
      else if (flag == "--events")
        opt.events = positive<uint64_t>(flag, value);
      else if (flag == "--paced-events")
        opt.paced_events = positive<uint64_t>(flag, value);
      else if (flag == "--paced-rate")
        opt.paced_rate = positive<double>(flag, value);
      else if (flag == "--window")
        opt.window = positive<std::size_t>(flag, value);
      else if (flag == "--ready-timeout")
        opt.ready_timeout = positive<double>(flag, value);
      else if (flag == "--idle-timeout")
        opt.idle_timeout = positive<double>(flag, value);
      else if (flag == "--hold-timeout")
        opt.hold_timeout = positive<double>(flag, value);
      else
        throw std::invalid_argument("unknown flag " + flag);
    }
    if (opt.payload_bytes < min_payload_bytes)
      throw std::invalid_argument("--payload must be at least " +
                                  std::to_string(min_payload_bytes));
    if (opt.address.empty())
      throw std::invalid_argument("--address is required");
    if (opt.role.starts_with("evmesh") && opt.data_dir.empty())
      throw std::invalid_argument("--data is required for evmesh");
  } catch (const std::exception& e) {
    std::cerr << "cluster_bench: " << e.what() << "\n" << usage;
    return std::nullopt;
  }
  return opt;
}

} // namespace cluster_bench
