// Runs examples/webhook_receiver as a child process for the webhook
// integration tests: starts it with the given behaviour flags, learns its
// port from its first line, and reads what it received over HTTP.
#pragma once

#include "support/api_client.hpp"
#include "support/node_process.hpp"

#include <chrono>
#include <functional>
#include <regex>
#include <set>
#include <stdexcept>
#include <thread>

#ifndef WEBHOOK_RECEIVER_BINARY
#error "WEBHOOK_RECEIVER_BINARY must name the webhook_receiver executable"
#endif

namespace evmesh::test {

class receiver_process {
public:
  explicit receiver_process(std::vector<std::string> flags = {}) {
    flags.push_back("--quiet");
    process_ = std::make_unique<running_command>(WEBHOOK_RECEIVER_BINARY, flags);
    auto line = process_->next_line(std::chrono::seconds{10});
    static const std::regex listening{R"(listening on http://127\.0\.0\.1:(\d+))"};
    std::smatch match;
    if (!line || !std::regex_search(*line, match, listening))
      throw std::runtime_error("webhook_receiver did not start: " + line.value_or("(no output)"));
    port_ = static_cast<uint16_t>(std::stoi(match[1]));
  }

  uint16_t port() const { return port_; }
  std::string url(const std::string& path = "/hook") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

  // Everything received so far: {"requests":[...]}.
  nlohmann::json received() {
    api_client c("http://127.0.0.1:" + std::to_string(port_), "");
    return c.get("/received").json();
  }

  // Polls received() until `done` holds or `timeout` passes; the last answer.
  nlohmann::json wait_until(const std::function<bool(const nlohmann::json& requests)>& done,
                            std::chrono::seconds timeout = std::chrono::seconds{60}) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    auto got = received()["requests"];
    while (!done(got) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds{50});  // polling interval, not synchronisation
      got = received()["requests"];
    }
    return got;
  }

  // The event ids among `requests` (as received() lists them) that were
  // answered 200.
  static std::set<std::string> delivered_ids(const nlohmann::json& requests) {
    std::set<std::string> out;
    for (const auto& r : requests)
      if (r["answered"] == 200)
        out.insert(r["id"].get<std::string>());
    return out;
  }

private:
  std::unique_ptr<running_command> process_;
  uint16_t port_ = 0;
};

} // namespace evmesh::test
