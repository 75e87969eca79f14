// The wallet story from the design seed, in one process:
//
//   Wallet --EventTriggered--> Publisher --Deliver--> Subscriber --Dispatch--> Controller --Handle
//
// The wallet is a thread of the host (an agent outside the actor system) that
// confirms N transactions and publishes `wallet.tx.confirmed` and
// `wallet.balance.changed` through the embedded node (the publisher). A
// subscription on `wallet.>` (the subscriber) dispatches each event to the
// controller, a CAF actor of this example that picks a handler by topic and
// prints what it handled. Exits 0 once all 2×N events were handled.
//
//   example_wallet [DATA_DIR] [N]     (defaults ./evmesh-wallet-data, 5)
#include <evmesh/caf.hpp>
#include <evmesh/evmesh.hpp>

#include <caf/all.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <iostream>
#include <map>
#include <memory>
#include <string>

namespace {

constexpr auto handling_timeout = std::chrono::seconds{10};
constexpr const char* confirmed_topic = "wallet.tx.confirmed";
constexpr const char* balance_topic = "wallet.balance.changed";

// --- the wallet -------------------------------------------------------------

struct wallet_summary {
  int transactions = 0;
  int64_t balance_sats = 0;
};

// Confirms `count` deposits and publishes each one, waiting until the node
// has made it durable (what an HTTP publisher gets as 202).
wallet_summary run_wallet(evmesh::node& publisher, int count) {
  wallet_summary summary;
  for (int i = 1; i <= count; ++i) {
    int64_t amount = 10'000 * i;
    summary.balance_sats += amount;
    std::string tx = "tx-" + std::to_string(1000 + i);
    publisher
      .publish(confirmed_topic, R"({"tx":")" + tx + R"(","amount_sats":)" +
                                  std::to_string(amount) + R"(,"confirmations":6})")
      .get();
    publisher
      .publish(balance_topic, R"({"account":"acct-42","balance_sats":)" +
                                std::to_string(summary.balance_sats) + "}")
      .get();
    ++summary.transactions;
  }
  return summary;
}

// --- the controller ---------------------------------------------------------

using handler = std::function<std::string(const evmesh::event&)>;

struct controller_state {
  controller_state() = default;  // not an aggregate: CAF must not build it from arguments
  std::map<std::string, handler> handlers;  // by topic
  std::size_t handled = 0;
  std::size_t expected = 0;
  std::shared_ptr<std::promise<void>> all_handled;
  static inline const char* name = "wallet.controller";
};

caf::behavior controller(caf::stateful_actor<controller_state>* self, std::size_t expected,
                         std::shared_ptr<std::promise<void>> all_handled) {
  auto& st = self->state;
  st.expected = expected;
  st.all_handled = std::move(all_handled);
  st.handlers[confirmed_topic] = [](const evmesh::event& e) {
    return "credit the account for confirmed transaction " + e.data;
  };
  st.handlers[balance_topic] = [](const evmesh::event& e) {
    return "refresh the balance shown to the user " + e.data;
  };
  return {
    [self](const evmesh::event_ptr& e) {
      auto& state = self->state;
      auto it = state.handlers.find(e->topic);
      if (it == state.handlers.end()) {
        std::cout << "controller: no handler for " << e->topic << ", ignored" << std::endl;
        return;
      }
      std::cout << "controller: seq " << e->seq << " " << e->topic << " -> " << it->second(*e)
                << std::endl;
      if (++state.handled == state.expected)
        state.all_handled->set_value();
    },
  };
}

} // namespace

int main(int argc, char** argv) {
  evmesh::node_config config;
  config.name = "wallet-example";
  config.data_dir = argc > 1 ? argv[1] : "./evmesh-wallet-data";
  const int transactions = argc > 2 ? std::stoi(argv[2]) : 5;
  if (transactions < 1) {
    std::cerr << "example_wallet: N must be at least 1\n";
    return 2;
  }
  const auto expected_events = static_cast<std::size_t>(2 * transactions);

  try {
    evmesh::node node{config};
    auto all_handled = std::make_shared<std::promise<void>>();
    auto handled = all_handled->get_future();
    bool complete = false;
    {
      auto dispatcher = evmesh::system_of(node).spawn(controller, expected_events, all_handled);
      // The subscriber: receives what the node delivers and dispatches it.
      auto subscriber = node.subscribe("wallet.>", [dispatcher](const evmesh::event& e) {
        caf::anon_send(dispatcher, std::make_shared<const evmesh::event>(e));
      });

      auto wallet = std::async(std::launch::async, run_wallet, std::ref(node), transactions);
      auto summary = wallet.get();
      complete = handled.wait_for(handling_timeout) == std::future_status::ready;
      std::cout << "wallet confirmed " << summary.transactions << " transactions, balance "
                << summary.balance_sats << " sats; controller "
                << (complete ? "handled every event" : "did not handle every event in time")
                << std::endl;

      // Stop delivering, stop the controller and drop its handle before the
      // node (and with it the actor system) shuts down.
      subscriber.cancel();
      caf::anon_send_exit(dispatcher, caf::exit_reason::user_shutdown);
    }
    node.stop();
    return complete ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "example_wallet: " << e.what() << "\n";
    return 1;
  }
}
