// A small blocking HTTP/1.1 client (Boost.Beast) for the command line tools
// (`evmesh publish`) and the tests. Plain http:// only; one connection per
// client object, kept alive across calls, reopened when the server closed it.
#pragma once

#include "transports/http_server.hpp"

#include <chrono>
#include <map>
#include <string>

namespace evmesh::http {

struct url_parts {
  std::string host;
  std::string port;
  std::string target;  // path and query, "/" when empty
};
// Parses "http://host:port/path?q" (base/url_target, the one URL parser);
// throws std::invalid_argument with the reason.
url_parts parse_url(const std::string& url);

class client {
public:
  // base: "http://127.0.0.1:8080"
  explicit client(std::string base_url, std::chrono::milliseconds timeout = std::chrono::seconds{10});
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  // Sends one request and returns the response; throws std::runtime_error on
  // connect/read/write failure or timeout.
  response send(boost::beast::http::verb method, const std::string& target,
                const std::string& body = {},
                const std::map<std::string, std::string>& headers = {});

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace evmesh::http
