// The absolute URLs evmesh connects out to — webhook targets (http://,
// https://) and WebSocket bridges (ws://, wss://) — parsed into what a
// client needs: TLS or not, host, port, path with query. One parser for both
// clients, so they agree on what a valid target is (no credentials in the
// URL, a valid port, no white space).
#pragma once

#include <string>

namespace evmesh {

enum class url_family {
  http,       // http:// and https://
  websocket,  // ws:// and wss://
};

struct url_target {
  bool tls = false;
  std::string host;  // without brackets
  std::string port;
  std::string path;  // path and query, at least "/"
  // The Host header: brackets around an IPv6 host, the port unless default.
  std::string host_header() const;
};

// Parses `url`; `error` says what is wrong (then the target is meaningless).
url_target parse_url_target(const std::string& url, url_family family, std::string& error);

// Checks a webhook URL's form (scheme http/https, host, port, no credentials);
// empty when fine, else what is wrong.
std::string check_http_url(const std::string& url);

} // namespace evmesh
