// A test's view of a node's HTTP API: JSON in, status and JSON out, with the
// token set once. Built on the project's blocking http::client.
#pragma once

#include "transports/http_client.hpp"

#include <nlohmann/json.hpp>

#include <string>

namespace evmesh::test {

struct api_response {
  int status = 0;
  std::string body;
  boost::beast::http::fields headers;
  nlohmann::json json() const { return nlohmann::json::parse(body); }
};

class api_client {
public:
  api_client(std::string base_url, std::string token)
    : http_(std::move(base_url)), token_(std::move(token)) {}

  api_response get(const std::string& target) { return call(boost::beast::http::verb::get, target, {}); }
  api_response post(const std::string& target, const nlohmann::json& body) {
    return call(boost::beast::http::verb::post, target, body.dump());
  }
  api_response call(boost::beast::http::verb method, const std::string& target,
                    const std::string& body,
                    std::map<std::string, std::string> headers = {{"Content-Type", "application/json"}}) {
    if (!token_.empty() && !headers.count("Authorization"))
      headers["Authorization"] = "Bearer " + token_;
    auto res = http_.send(method, target, body, headers);
    api_response out;
    out.status = res.result_int();
    out.body = res.body();
    for (const auto& field : res)
      out.headers.set(field.name_string(), field.value());
    return out;
  }

private:
  http::client http_;
  std::string token_;
};

} // namespace evmesh::test
