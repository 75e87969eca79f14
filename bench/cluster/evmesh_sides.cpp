// evmesh under test: two processes, each embedding an evmesh::node with its
// own data dir and cluster listener (--address), joined to the other
// (--join). The publisher calls node.publish on node A, keeping up to
// --window publishes in flight (a real producer does not wait for each ack);
// the subscriber's callback on node B sees the events. Readiness is the same
// probe/reply as NATS: probes on bench.data from A until B's reply on
// bench.reply comes back, so the cluster link and interest are up both ways.
#include "sides.hpp"

#include "receive_log.hpp"
#include "send_schedule.hpp"

#include <evmesh/evmesh.hpp>

#include <chrono>
#include <cstdio>
#include <deque>
#include <future>
#include <thread>

namespace cluster_bench {

namespace {

constexpr const char* data_topic = "bench.data";
constexpr const char* reply_topic = "bench.reply";
constexpr auto finished_poll = std::chrono::milliseconds{20};

evmesh::node_config node_config_for(const options& opt, const char* name) {
  evmesh::node_config config;
  config.name = name;
  config.data_dir = opt.data_dir;
  config.cluster = opt.address;
  config.join = opt.join;
  config.admin_token = "bench-unused";  // no HTTP; keeps the token notice out of the output
  return config;
}

class evmesh_publisher_side final : public publisher_side {
public:
  explicit evmesh_publisher_side(const options& opt)
    : node_(node_config_for(opt, "bench-a")), opt_(opt) {
    replies_ = node_.subscribe(reply_topic, [this](const evmesh::event& e) {
      auto header = decode_message(e.data);
      if (header && header->kind == message_kind::reply)
        answered_ = true;
    });
  }

  bool wait_until_delivering(double timeout_seconds) override {
    return probe_until_answered(
      [this](const std::string& probe) { node_.publish(data_topic, probe); }, answered_,
      opt_.payload_bytes, timeout_seconds);
  }

  void send(const std::string& payload) override {
    if (in_flight_.size() >= opt_.window) {
      in_flight_.front().get();  // throws if the event was not stored
      in_flight_.pop_front();
    }
    in_flight_.push_back(node_.publish(data_topic, payload));
  }

  void flush() override {
    for (; !in_flight_.empty(); in_flight_.pop_front())
      in_flight_.front().get();
  }

private:
  evmesh::node node_;
  const options& opt_;
  evmesh::subscription replies_;
  std::atomic<bool> answered_{false};
  std::deque<std::future<evmesh::publish_result>> in_flight_;
};

} // namespace

int run_evmesh_sub(const options& opt) {
  evmesh::node node{node_config_for(opt, "bench-b")};
  receive_log log{opt};
  std::string reply;  // touched only by the callback, one call at a time
  auto subscription = node.subscribe(
    data_topic,
    [&](const evmesh::event& e) {
      auto header = log.record(e.data);
      if (header && header->kind == message_kind::probe) {
        encode_message({message_kind::reply, header->seq, clock_ns(), 0}, opt.payload_bytes, reply);
        node.publish(reply_topic, reply);
      }
    },
    [&log](const std::string& why) { log.fail("subscription closed: " + why); });
  std::printf("ready\n");
  std::fflush(stdout);
  while (!log.finished())
    std::this_thread::sleep_for(finished_poll);
  subscription.cancel();
  int status = log.report();
  node.stop();
  return status;
}

int run_evmesh_pub(const options& opt) {
  evmesh_publisher_side side{opt};
  return run_send_schedule(side, opt);
}

} // namespace cluster_bench
