// The bridge tests' external WebSocket server: tests/support/ws_test_server.js
// run under Node with Debian's node-ws, as a child process. The test drives
// it through its loopback control port (send numbered messages, drop every
// connection, stop and start the listener on the same port) and reads what
// it received from /state.
#pragma once

#include "support/api_client.hpp"
#include "support/node_process.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#ifndef WS_TEST_SERVER_SCRIPT
#error "WS_TEST_SERVER_SCRIPT must name tests/support/ws_test_server.js"
#endif

namespace evmesh::test {

inline bool node_ws_available() {
  return std::filesystem::exists("/usr/bin/node") && std::filesystem::exists("/usr/share/nodejs/ws");
}

class ws_test_server {
public:
  // With `tls`: {cert file, key file}, and the server speaks wss://.
  explicit ws_test_server(std::vector<std::string> tls = {}) {
    std::vector<std::string> args{WS_TEST_SERVER_SCRIPT};
    if (!tls.empty())
      args.insert(args.end(), {"--tls", tls.at(0), tls.at(1)});
    process_ = std::make_unique<running_command>("/usr/bin/node", args,
                                                 std::vector<std::string>{"NODE_PATH=/usr/share/nodejs"});
    auto line = process_->next_line(std::chrono::seconds{20});
    if (!line)
      throw std::runtime_error("the ws test server did not start");
    std::istringstream in{*line};
    std::string word;
    in >> word >> ws_port_ >> control_port_;
    if (word != "ports")
      throw std::runtime_error("unexpected first line from the ws test server: " + *line);
  }

  uint16_t port() const { return ws_port_; }
  nlohmann::json control(const std::string& target) {
    auto r = api_client("http://127.0.0.1:" + std::to_string(control_port_), "").get(target);
    if (r.status != 200)
      throw std::runtime_error("ws test server: " + target + " answered " + std::to_string(r.status));
    return r.json();
  }
  nlohmann::json state() { return control("/state"); }
  std::vector<std::string> received() { return state()["received"].get<std::vector<std::string>>(); }

private:
  std::unique_ptr<running_command> process_;
  uint16_t ws_port_ = 0;
  uint16_t control_port_ = 0;
};

} // namespace evmesh::test
