// A real headless Chromium (Debian's `chromium`) for browser tests, driven
// over the DevTools protocol on a WebSocket (the tests' own ws_client). It
// starts with a fresh profile and --remote-debugging-port=0, reads the
// DevTools address it prints, and the destructor kills its whole process
// group. Waits are conditions evaluated in the page (a promise that resolves
// when a DOM mutation makes the condition true), each with a deadline.
#pragma once

#include "support/node_process.hpp"
#include "support/ws_client.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace evmesh::test {

class headless_chromium {
public:
  // The browser executable, or nullopt if it is not installed.
  static std::optional<std::string> find();

  // Starts the browser; throws with its output if it does not come up.
  explicit headless_chromium(const std::string& executable,
                             std::chrono::seconds start_timeout = std::chrono::seconds{60});
  ~headless_chromium();
  headless_chromium(const headless_chromium&) = delete;
  headless_chromium& operator=(const headless_chromium&) = delete;

  // Opens a page (1280×800) on `url`, attaches to it and waits for its load
  // event; returns the DevTools session of the page.
  std::string open_page(const std::string& url);

  // One DevTools command; its "result", or throws with the error. `session`
  // empty: the browser itself.
  nlohmann::json call(const std::string& method, const nlohmann::json& params = nlohmann::json::object(),
                      const std::string& session = {});

  // Evaluates `expression` in the page (awaiting a promise) and returns its value.
  nlohmann::json evaluate(const std::string& session, const std::string& expression);

  // Waits until the JavaScript `condition` is true in the page, re-checked on
  // every DOM change; false if it is not within `timeout`.
  bool wait_for(const std::string& session, const std::string& condition,
                std::chrono::milliseconds timeout = std::chrono::seconds{15});

  // A PNG of the page as it looks now.
  std::string screenshot(const std::string& session);

  // What the browser printed (for failure messages).
  const std::string& output() const { return output_; }

private:
  temp_dir profile_;
  int pid_ = -1;
  std::string output_;
  std::unique_ptr<ws_client> devtools_;
  int next_id_ = 1;
};

} // namespace evmesh::test
