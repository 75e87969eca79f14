// One call to an admin resource of the HTTP API (/v1/endpoints,
// /v1/bridges) after http_api.cpp has authenticated it, and the ways to
// answer it: a problem, a JSON body, 405 with `Allow`.
#pragma once

#include "transports/http_server.hpp"
#include "transports/problem.hpp"

#include <nlohmann/json.hpp>

#include <map>
#include <string>

namespace evmesh {

struct admin_call {
  boost::beast::http::verb method;
  std::string path;
  std::map<std::string, std::string> query;
  std::string body;
  unsigned version = 11;
  bool keep_alive = true;
};

struct admin_answer {
  admin_call call;
  http::responder respond;

  void problem(boost::beast::http::status code, const std::string& detail) const {
    respond(http::make_problem(code, detail, call.version, call.keep_alive));
  }
  // A JSON body (already serialized).
  void json_text(boost::beast::http::status code, std::string body) const {
    http::response res{code, call.version};
    res.set(boost::beast::http::field::content_type, "application/json");
    res.keep_alive(call.keep_alive);
    res.body() = std::move(body);
    respond(std::move(res));
  }
  void json_body(boost::beast::http::status code, const nlohmann::json& body) const { json_text(code, body.dump()); }
  void no_content() const {
    http::response res{boost::beast::http::status::no_content, call.version};
    res.keep_alive(call.keep_alive);
    respond(std::move(res));
  }
  void not_allowed(const char* allow) const {
    auto res = http::make_problem(boost::beast::http::status::method_not_allowed,
                                  std::string(boost::beast::http::to_string(call.method)) + " is not allowed on " +
                                    call.path + "; allowed: " + allow,
                                  call.version, call.keep_alive);
    res.set(boost::beast::http::field::allow, allow);
    respond(std::move(res));
  }
};

using admin_answer_ptr = std::shared_ptr<const admin_answer>;

} // namespace evmesh
