// See headless_chromium.hpp.
#include "support/headless_chromium.hpp"

#include "base/base64.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <regex>
#include <stdexcept>
#include <vector>

namespace evmesh::test {
namespace {

using json = nlohmann::json;
using clock = std::chrono::steady_clock;

constexpr auto call_timeout = std::chrono::seconds{30};

// A JavaScript promise that resolves true once `condition` holds (checked now,
// after every DOM change and every change of the document's ready state), or
// false after `timeout`.
std::string wait_script(const std::string& condition, std::chrono::milliseconds timeout) {
  return "new Promise(resolve => {\n"
         "  const holds = () => { try { return !!(" + condition + "); } catch (e) { return false; } };\n"
         "  if (holds()) return resolve(true);\n"
         "  const observer = new MutationObserver(check);\n"
         "  function done(result) {\n"
         "    observer.disconnect();\n"
         "    document.removeEventListener('readystatechange', check);\n"
         "    resolve(result);\n"
         "  }\n"
         "  function check() { if (holds()) done(true); }\n"
         "  observer.observe(document, {subtree: true, childList: true, characterData: true, attributes: true});\n"
         "  document.addEventListener('readystatechange', check);\n"
         "  setTimeout(() => done(holds()), " + std::to_string(timeout.count()) + ");\n"
         "})";
}

} // namespace

std::optional<std::string> headless_chromium::find() {
  for (const char* candidate : {"/usr/bin/chromium", "/usr/lib/chromium/chromium"})
    if (::access(candidate, X_OK) == 0)
      return std::string(candidate);
  return std::nullopt;
}

headless_chromium::headless_chromium(const std::string& executable, std::chrono::seconds start_timeout) {
  std::vector<std::string> args{executable,
                                "--headless=new",
                                "--no-sandbox",  // tests may run as root
                                "--disable-gpu",
                                "--disable-dev-shm-usage",
                                "--no-first-run",
                                "--no-default-browser-check",
                                "--disable-extensions",
                                "--remote-debugging-address=127.0.0.1",
                                "--remote-debugging-port=0",
                                "--user-data-dir=" + profile_.path().string(),
                                "about:blank"};
  int out[2];
  if (::pipe(out) != 0)
    throw std::runtime_error("pipe failed");
  pid_ = ::fork();
  if (pid_ < 0)
    throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    ::setpgid(0, 0);  // its own group, so the destructor ends every process it starts
    ::dup2(out[1], 1);
    ::dup2(out[1], 2);
    ::close(out[0]);
    ::close(out[1]);
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(executable.c_str(), argv.data());
    ::_exit(127);
  }
  ::setpgid(pid_, pid_);
  ::close(out[1]);
  const int fd = out[0];

  // "DevTools listening on ws://127.0.0.1:PORT/devtools/browser/ID"
  const std::regex listening{R"(DevTools listening on ws://127\.0\.0\.1:(\d+)(/devtools/browser/[^\s]+))"};
  std::smatch found;
  auto deadline = clock::now() + start_timeout;
  while (!std::regex_search(output_, found, listening)) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
    pollfd p{fd, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0)
      break;
    char buffer[4096];
    auto n = ::read(fd, buffer, sizeof buffer);
    if (n <= 0)
      break;
    output_.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);  // later output goes nowhere; chromium does not mind a closed pipe
  if (found.empty())
    throw std::runtime_error("chromium did not start its DevTools server:\n" + output_);
  auto port = static_cast<uint16_t>(std::stoi(found[1].str()));
  devtools_ = std::make_unique<ws_client>(port, found[2].str());
  if (!devtools_->open())
    throw std::runtime_error("cannot connect to chromium's DevTools WebSocket");
}

headless_chromium::~headless_chromium() {
  devtools_.reset();
  if (pid_ > 0) {
    ::kill(-pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

json headless_chromium::call(const std::string& method, const json& params, const std::string& session) {
  const int id = next_id_++;
  json request{{"id", id}, {"method", method}, {"params", params}};
  if (!session.empty())
    request["sessionId"] = session;
  devtools_->send(request);
  auto deadline = clock::now() + call_timeout;
  while (clock::now() < deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
    auto message = devtools_->next_json(left);
    if (!message)
      break;
    if (!message->contains("id") || (*message)["id"] != id)
      continue;  // an event, or an answer to something else
    if (message->contains("error"))
      throw std::runtime_error(method + " failed: " + (*message)["error"].dump());
    return (*message)["result"];
  }
  throw std::runtime_error(method + ": no answer from chromium");
}

std::string headless_chromium::open_page(const std::string& url) {
  auto target = call("Target.createTarget", {{"url", "about:blank"}});
  auto attached = call("Target.attachToTarget", {{"targetId", target["targetId"]}, {"flatten", true}});
  auto session = attached["sessionId"].get<std::string>();
  call("Emulation.setDeviceMetricsOverride",
       {{"width", 1280}, {"height", 800}, {"deviceScaleFactor", 1}, {"mobile", false}}, session);
  call("Page.navigate", {{"url", url}}, session);
  if (!wait_for(session, "document.readyState === 'complete' && location.href !== 'about:blank'"))
    throw std::runtime_error("the page did not load: " + url);
  return session;
}

json headless_chromium::evaluate(const std::string& session, const std::string& expression) {
  auto result = call("Runtime.evaluate",
                     {{"expression", expression}, {"awaitPromise", true}, {"returnByValue", true}},
                     session);
  if (result.contains("exceptionDetails"))
    throw std::runtime_error("script failed: " + result["exceptionDetails"].dump());
  return result["result"].value("value", json{});
}

bool headless_chromium::wait_for(const std::string& session, const std::string& condition,
                                 std::chrono::milliseconds timeout) {
  return evaluate(session, wait_script(condition, timeout)) == true;
}

std::string headless_chromium::screenshot(const std::string& session) {
  auto shot = call("Page.captureScreenshot", {{"format", "png"}}, session);
  auto png = base64_decode(shot["data"].get<std::string>());
  if (!png)
    throw std::runtime_error("the screenshot is not base64");
  return *png;
}

} // namespace evmesh::test
