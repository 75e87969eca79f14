// inproc_publish: how fast an embedded evmesh node carries events from
// node::publish() to subscriber callbacks, compared with raw CAF
// actor-to-actor sends measured in the same run on the same actor system
// (evmesh::system_of(node), so both see the same scheduler settings).
//
// For 1 and for K subscribers (default 100) on one topic it publishes N events
// of ~100 bytes of JSON without waiting for each future, and counts delivered
// callbacks per second from the first publish to the last delivery. It does so
// twice, keeping the publish futures (and checking them afterwards) and
// dropping them. The baseline is one sender actor sending each payload to 1 or
// K receiver actors, counted the same way; a single baseline run can take well
// under a second, so it is repeated for at least 1.5 s and the median counts.
// Prints rates and ours/raw.
#include <evmesh/caf.hpp>
#include <evmesh/evmesh.hpp>

#include <caf/all.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace {

using bench_clock = std::chrono::steady_clock;

constexpr auto delivery_timeout = std::chrono::seconds{120};
constexpr double baseline_min_seconds = 1.5;
constexpr const char* topic = "bench.events";

struct options {
  uint64_t events = 200'000;        // per run with one subscriber
  uint64_t fanout_events = 40'000;  // per run with `fanout` subscribers
  int fanout = 100;
  int rounds = 1;
  std::size_t payload_bytes = 100;
};

// Counts deliveries from any thread and notes when the last expected one
// arrived. A run can also be failed (a subscriber was dropped).
class delivery_counter {
public:
  explicit delivery_counter(uint64_t expected) : expected_(expected) {}

  void hit() {
    if (count_.fetch_add(1, std::memory_order_relaxed) + 1 == expected_)
      finish({});
  }

  void fail(const std::string& why) { finish(why); }

  // Seconds from `started` to the last delivery; nullopt if the run failed
  // or timed out (failure() then says why).
  std::optional<double> wait(bench_clock::time_point started) {
    std::unique_lock<std::mutex> hold(lock_);
    if (!finished_.wait_for(hold, delivery_timeout, [this] { return done_; }))
      failure_ = "timed out after " + std::to_string(delivery_timeout.count()) + " s";
    if (!failure_.empty())
      return std::nullopt;
    return std::chrono::duration<double>(finished_at_ - started).count();
  }

  uint64_t count() const { return count_.load(); }
  const std::string& failure() const { return failure_; }

private:
  void finish(const std::string& why) {
    auto now = bench_clock::now();
    std::lock_guard<std::mutex> hold(lock_);
    if (done_)
      return;
    done_ = true;
    finished_at_ = now;
    failure_ = why;
    finished_.notify_all();
  }

  const uint64_t expected_;
  std::atomic<uint64_t> count_{0};
  std::mutex lock_;
  std::condition_variable finished_;
  bool done_ = false;
  bench_clock::time_point finished_at_;
  std::string failure_;
};

struct sample {
  std::string path;
  int subscribers = 0;
  uint64_t events = 0;
  uint64_t delivered = 0;
  double publish_loop_seconds = 0;  // time spent in the sending loop itself
  std::optional<double> seconds{};  // first send to last delivery
  std::string failure{};

  double rate() const { return seconds ? static_cast<double>(delivered) / *seconds : 0; }
};

// JSON data of exactly `bytes` bytes (or the smallest document if shorter).
std::string make_payload(std::size_t bytes) {
  const std::string head = R"({"order":123456,"customer":"c-000042","note":")";
  const std::string tail = R"("})";
  auto fixed = head.size() + tail.size();
  return head + std::string(bytes > fixed ? bytes - fixed : 0, 'x') + tail;
}

// --- baseline: raw CAF ------------------------------------------------------

caf::behavior counting_receiver(caf::event_based_actor*, delivery_counter* counter) {
  return {
    [counter](const std::string&) { counter->hit(); },
  };
}

// Sends every event to every receiver, building each message once (the CAF
// way to fan out without copying), then exits.
void fan_out_sender(caf::event_based_actor* self, std::vector<caf::actor> receivers,
                    uint64_t events, std::string payload, double* loop_seconds) {
  auto started = bench_clock::now();
  for (uint64_t i = 0; i < events; ++i) {
    auto message = caf::make_message(payload);
    for (const auto& receiver : receivers)
      self->send(receiver, message);
  }
  *loop_seconds = std::chrono::duration<double>(bench_clock::now() - started).count();
}

sample run_raw_caf_once(caf::actor_system& sys, int receiver_count, uint64_t events,
                        const std::string& payload) {
  sample out{.path = "raw CAF send", .subscribers = receiver_count, .events = events};
  delivery_counter counter{events * static_cast<uint64_t>(receiver_count)};
  std::vector<caf::actor> receivers;
  for (int i = 0; i < receiver_count; ++i)
    receivers.push_back(sys.spawn(counting_receiver, &counter));
  auto started = bench_clock::now();
  {
    caf::scoped_actor waiter{sys};  // to learn when the sender is done with `loop_seconds`
    auto sender = sys.spawn(fan_out_sender, receivers, events, payload, &out.publish_loop_seconds);
    waiter->monitor(sender);
    out.seconds = counter.wait(started);
    waiter->receive([](const caf::down_msg&) {});
  }
  for (const auto& receiver : receivers)
    caf::anon_send_exit(receiver, caf::exit_reason::user_shutdown);
  out.delivered = counter.count();
  out.failure = counter.failure();
  return out;
}

// The run with the median rate among runs that add up to baseline_min_seconds
// (the first failed run, if any).
sample run_raw_caf(caf::actor_system& sys, int receiver_count, uint64_t events,
                   const std::string& payload) {
  std::vector<sample> runs;
  double total = 0;
  while (total < baseline_min_seconds) {
    runs.push_back(run_raw_caf_once(sys, receiver_count, events, payload));
    if (!runs.back().seconds)
      return runs.back();
    total += *runs.back().seconds;
  }
  std::sort(runs.begin(), runs.end(),
            [](const sample& a, const sample& b) { return a.rate() < b.rate(); });
  auto median = runs[runs.size() / 2];
  median.path += " (median of " + std::to_string(runs.size()) + ")";
  return median;
}

// --- evmesh -----------------------------------------------------------------

enum class futures { kept, dropped };

sample run_evmesh(evmesh::node& node, int subscriber_count, uint64_t events,
                  const std::string& payload, futures mode) {
  sample out{.path = mode == futures::kept ? "evmesh, futures kept" : "evmesh, futures dropped",
             .subscribers = subscriber_count,
             .events = events};
  delivery_counter counter{events * static_cast<uint64_t>(subscriber_count)};
  std::vector<evmesh::subscription> subscriptions;
  for (int i = 0; i < subscriber_count; ++i)
    subscriptions.push_back(node.subscribe(
      topic, [&counter](const evmesh::event&) { counter.hit(); },
      [&counter](const std::string& why) { counter.fail("subscriber closed: " + why); }));

  std::vector<std::future<evmesh::publish_result>> pending;
  if (mode == futures::kept)
    pending.reserve(events);
  auto started = bench_clock::now();
  for (uint64_t i = 0; i < events; ++i) {
    auto stored = node.publish(topic, payload);
    if (mode == futures::kept)
      pending.push_back(std::move(stored));
  }
  out.publish_loop_seconds = std::chrono::duration<double>(bench_clock::now() - started).count();
  out.seconds = counter.wait(started);
  for (auto& stored : pending)
    stored.get();  // throws if an event was not stored
  subscriptions.clear();
  out.delivered = counter.count();
  out.failure = counter.failure();
  return out;
}

// --- running and reporting --------------------------------------------------

// A fresh directory under the system's temp dir, removed with this object.
class temp_dir {
public:
  temp_dir() {
    auto pattern = (std::filesystem::temp_directory_path() / "evmesh-bench-XXXXXX").string();
    if (!::mkdtemp(pattern.data()))
      throw std::runtime_error("cannot create a temp directory from " + pattern);
    path_ = pattern;
  }
  ~temp_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::filesystem::path& path() const { return path_; }

private:
  std::filesystem::path path_;
};

std::string human_rate(double per_second) {
  char text[32];
  if (per_second >= 1e6)
    std::snprintf(text, sizeof text, "%.2fM", per_second / 1e6);
  else
    std::snprintf(text, sizeof text, "%.1fk", per_second / 1e3);
  return text;
}

void print_row(const sample& s, const sample& baseline) {
  char line[200];
  std::snprintf(line, sizeof line, "%5d %9llu  %-28s %10llu %9.3f %9.3f %13s", s.subscribers,
                static_cast<unsigned long long>(s.events), s.path.c_str(),
                static_cast<unsigned long long>(s.delivered), s.publish_loop_seconds,
                s.seconds.value_or(0), s.seconds ? human_rate(s.rate()).c_str() : "-");
  std::cout << line;
  if (!s.seconds)
    std::cout << "  FAILED: " << s.failure;
  else if (baseline.seconds) {
    std::snprintf(line, sizeof line, "  %9.3f", s.rate() / baseline.rate());
    std::cout << line;
  }
  std::cout << std::endl;
}

// One node in a fresh data dir per subscriber count: baseline first, then
// evmesh with kept and dropped futures. Returns false if a run failed.
bool run_section(int subscribers, uint64_t events, const std::string& payload) {
  temp_dir data;
  evmesh::node_config config;
  config.name = "bench";
  config.data_dir = data.path();
  config.admin_token = "bench-unused";  // no HTTP; keeps the token notice out of the output
  evmesh::node node{config};
  auto baseline = run_raw_caf(evmesh::system_of(node), subscribers, events, payload);
  print_row(baseline, baseline);
  bool ok = baseline.seconds.has_value();
  for (auto mode : {futures::kept, futures::dropped}) {
    auto s = run_evmesh(node, subscribers, events, payload, mode);
    print_row(s, baseline);
    ok = ok && s.seconds.has_value();
  }
  node.stop();
  return ok;
}

const char* usage =
  "usage: inproc_publish [--events N] [--fanout-events N] [--fanout K] [--rounds R]\n"
  "                      [--payload BYTES] [--help]\n"
  "  --events N         events per run with 1 subscriber (default 200000)\n"
  "  --fanout-events N  events per run with K subscribers (default 40000)\n"
  "  --fanout K         subscribers in the fan-out runs (default 100)\n"
  "  --rounds R         repeat everything R times (default 1)\n"
  "  --payload BYTES    size of each event's JSON data (default 100)\n";

std::optional<options> parse_options(int argc, char** argv) {
  options opt;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (i + 1 >= argc)
      return std::nullopt;
    uint64_t value = 0;
    try {
      value = std::stoull(argv[++i]);
    } catch (const std::exception&) {
      return std::nullopt;
    }
    if (value == 0)
      return std::nullopt;
    if (flag == "--events")
      opt.events = value;
    else if (flag == "--fanout-events")
      opt.fanout_events = value;
    else if (flag == "--fanout")
      opt.fanout = static_cast<int>(value);
    else if (flag == "--rounds")
      opt.rounds = static_cast<int>(value);
    else if (flag == "--payload")
      opt.payload_bytes = value;
    else
      return std::nullopt;
  }
  return opt;
}

} // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::string(argv[1]) == "--help") {
    std::cout << usage;
    return 0;
  }
  auto opt = parse_options(argc, argv);
  if (!opt) {
    std::cerr << usage;
    return 2;
  }
  auto payload = make_payload(opt->payload_bytes);
  std::cout << "inproc_publish: " << payload.size() << "-byte JSON events on one topic; "
            << "rate = delivered callbacks / (first send .. last delivery)\n"
            << " subs    events  path                          delivered    loop s   total s  deliveries/s   ours/raw"
            << std::endl;
  bool ok = true;
  try {
    for (int round = 0; round < opt->rounds; ++round) {
      ok = run_section(1, opt->events, payload) && ok;
      ok = run_section(opt->fanout, opt->fanout_events, payload) && ok;
    }
  } catch (const std::exception& e) {
    std::cerr << "inproc_publish: " << e.what() << std::endl;
    return 1;
  }
  return ok ? 0 : 1;
}
