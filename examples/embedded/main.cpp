// A host application that embeds an evmesh node in its own main(): no HTTP,
// a callback subscribed on `orders.*` and a CAF actor of the host subscribed
// on `orders.>`. It publishes a few events, waits until both subscribers have
// seen what they match, prints it and shuts down in the order CAF needs
// (host actor stopped and its handle released before the node goes away).
//
//   example_embedded [DATA_DIR]     (default ./evmesh-embedded-data)
#include <evmesh/caf.hpp>
#include <evmesh/evmesh.hpp>

#include <caf/all.hpp>

#include <chrono>
#include <condition_variable>
#include <iostream>
#include <mutex>
#include <string>
#include <vector>

namespace {

constexpr auto arrival_timeout = std::chrono::seconds{10};

// Lines recorded by subscribers on CAF worker threads, read by main().
class inbox {
public:
  void add(std::string line) {
    {
      std::lock_guard<std::mutex> hold(lock_);
      lines_.push_back(std::move(line));
    }
    arrived_.notify_all();
  }

  // True once `count` lines are in; false if that takes over `timeout`.
  bool wait_for(std::size_t count, std::chrono::seconds timeout) {
    std::unique_lock<std::mutex> hold(lock_);
    return arrived_.wait_for(hold, timeout, [&] { return lines_.size() >= count; });
  }

  std::vector<std::string> lines() {
    std::lock_guard<std::mutex> hold(lock_);
    return lines_;
  }

private:
  std::mutex lock_;
  std::condition_variable arrived_;
  std::vector<std::string> lines_;
};

std::string describe(const evmesh::event& e) {
  return "seq " + std::to_string(e.seq) + " " + e.topic + " " + e.data;
}

// The host's own actor: the node sends it every matching event as an
// evmesh::event_ptr message.
caf::behavior order_auditor(caf::event_based_actor*, inbox* seen) {
  return {
    [seen](const evmesh::event_ptr& e) { seen->add(describe(*e)); },
  };
}

struct order_event {
  std::string topic;
  std::string data;
};

bool print_arrivals(const char* who, inbox& seen, std::size_t expected) {
  bool complete = seen.wait_for(expected, arrival_timeout);
  auto lines = seen.lines();
  std::cout << who << " received " << lines.size() << " of " << expected << ":\n";
  for (const auto& line : lines)
    std::cout << "  " << line << "\n";
  return complete;
}

} // namespace

int main(int argc, char** argv) {
  evmesh::node_config config;
  config.name = "embedded-example";
  config.data_dir = argc > 1 ? argv[1] : "./evmesh-embedded-data";

  // `orders.*` matches one token after `orders`; `orders.>` also matches
  // deeper topics such as orders.eu.created.
  const std::vector<order_event> events{
    {"orders.created", R"({"order":1,"total_cents":4200})"},
    {"orders.paid", R"({"order":1})"},
    {"orders.eu.created", R"({"order":2,"total_cents":990})"},
  };
  const std::size_t callback_expects = 2;
  const std::size_t actor_expects = 3;

  try {
    evmesh::node node{config};
    inbox callback_seen;
    inbox actor_seen;
    bool complete = false;
    {
      auto auditor = evmesh::system_of(node).spawn(order_auditor, &actor_seen);
      auto by_callback = node.subscribe(
        "orders.*", [&](const evmesh::event& e) { callback_seen.add(describe(e)); });
      auto by_actor = evmesh::subscribe(node, "orders.>", auditor);

      for (const auto& e : events) {
        auto stored = node.publish(e.topic, e.data).get();  // durable once ready
        std::cout << "published " << e.topic << " as seq " << stored.seq << "\n";
      }
      bool callback_done = print_arrivals("callback on orders.*", callback_seen, callback_expects);
      bool actor_done = print_arrivals("actor on orders.>", actor_seen, actor_expects);
      complete = callback_done && actor_done;

      // The actor system waits for every actor at shutdown, and handles must
      // not outlive it: end the subscriptions, stop the actor, drop the handle.
      by_callback.cancel();
      by_actor.cancel();
      caf::anon_send_exit(auditor, caf::exit_reason::user_shutdown);
    }
    node.stop();
    std::cout << (complete ? "all events arrived" : "some events did not arrive in time") << "\n";
    return complete ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "example_embedded: " << e.what() << "\n";
    return 1;
  }
}
