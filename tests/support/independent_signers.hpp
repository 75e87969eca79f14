// Signatures for the ingest tests made by code independent of evmesh: the
// reference `standardwebhooks` npm package (tests/support/js, installed by
// scripts/install-deps.sh with `npm ci`) and the openssl CLI's HMAC
// (`openssl dgst -sha256 -hmac KEY`) for GitHub, Stripe and generic HMAC.
#pragma once

#include "support/node_process.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>

#ifndef STANDARD_WEBHOOKS_SIGNER
#error "STANDARD_WEBHOOKS_SIGNER must name tests/support/js/sign_standard_webhooks.js"
#endif

namespace evmesh::test {

// Runs a shell command with `input` on its standard input; its standard
// output, or throws if it fails.
inline std::string run_with_input(const std::string& command, const std::string& input) {
  temp_dir dir;
  auto path = dir.path() / "input";
  {
    std::ofstream out(path, std::ios::binary);
    out << input;
  }
  std::string output;
  FILE* pipe = popen((command + " < '" + path.string() + "'").c_str(), "r");
  char buffer[512];
  while (pipe && fgets(buffer, sizeof buffer, pipe))
    output += buffer;
  if (!pipe || pclose(pipe) != 0)
    throw std::runtime_error("`" + command + "` failed: " + output);
  return output;
}

inline std::string shell_quote(const std::string& text) {
  std::string out = "'";
  for (char c : text)
    out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// The webhook-id, webhook-timestamp and webhook-signature headers for `body`.
inline std::map<std::string, std::string> standard_webhooks_headers(const std::string& secret, const std::string& id,
                                                                    int64_t unix_seconds, const std::string& body) {
  auto out = run_with_input("node " + shell_quote(STANDARD_WEBHOOKS_SIGNER) + " " + shell_quote(secret) + " " +
                              shell_quote(id) + " " + std::to_string(unix_seconds),
                            body);
  return nlohmann::json::parse(out).get<std::map<std::string, std::string>>();
}

// Lower-case hex HMAC-SHA256 of `data` under the key text `key`.
inline std::string openssl_hmac_hex(const std::string& key, const std::string& data) {
  auto out = run_with_input("openssl dgst -sha256 -hmac " + shell_quote(key), data);
  auto space = out.rfind(' ');  // "SHA2-256(stdin)= <hex>\n"
  return out.substr(space + 1, 64);
}

inline int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
    .count();
}

} // namespace evmesh::test
