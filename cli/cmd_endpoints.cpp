// `evmesh endpoints add URL --topics P[,P...] | list | rm ID`: manages a
// node's webhook endpoints over its HTTP API (admin token). `add` prints the
// new endpoint as JSON (with its secret: the only time the command shows
// it), `list` one line per endpoint, `rm` the removed id.
#include "cli/client_options.hpp"
#include "cli/commands.hpp"
#include "transports/http_client.hpp"

#include <nlohmann/json.hpp>

#include <iostream>

namespace evmesh {
namespace {

using json = nlohmann::json;
using verb = boost::beast::http::verb;

std::string join(const json& list) {
  std::string out;
  for (const auto& item : list)
    out += (out.empty() ? "" : ",") + item.get<std::string>();
  return out;
}

} // namespace

int run_endpoints_command(const std::vector<std::string>& args) {
  node_client_options node;
  std::string topics, description;
  option_parser parser("evmesh endpoints add URL --topics PATTERN[,PATTERN...] | list | rm ID [options]",
                       "Manages the node's webhook endpoints (needs an admin token).");
  node.add_to(parser, "an admin token");
  parser.add({"topics", "PATTERN,...", "for add: the topic patterns the endpoint receives",
              [&](const std::string& v) { topics = v; }});
  parser.add({"description", "TEXT", "for add: a description", [&](const std::string& v) { description = v; }});
  std::vector<std::string> rest;
  try {
    rest = parser.parse(args);
    if (!rest.empty() && rest.front() == "--help") {
      std::cout << parser.help();
      return 0;
    }
    if (rest.empty())
      throw usage_error("say add, list or rm");
    const auto& what = rest.front();
    if (what == "add" && (rest.size() != 2 || topics.empty()))
      throw usage_error("add needs URL and --topics PATTERN[,PATTERN...]");
    if (what == "list" && rest.size() != 1)
      throw usage_error("list takes no arguments");
    if (what == "rm" && rest.size() != 2)
      throw usage_error("rm needs the endpoint ID");
    if (what != "add" && what != "list" && what != "rm")
      throw usage_error("unknown endpoints command \"" + what + "\" (add, list, rm)");
  } catch (const usage_error& e) {
    std::cerr << "evmesh endpoints: " << e.what() << "\n\n" << parser.help();
    return 2;
  }

  try {
    http::client client{node.url};
    std::map<std::string, std::string> headers{{"Content-Type", "application/json"}};
    if (auto token = node.resolved_token(); !token.empty())
      headers["Authorization"] = "Bearer " + token;
    http::response res;
    const auto& what = rest.front();
    if (what == "add") {
      json body{{"url", rest[1]}, {"topics", json::array()}};
      std::size_t start = 0;
      while (start <= topics.size()) {
        auto comma = topics.find(',', start);
        auto item = topics.substr(start, comma - start);
        if (!item.empty())
          body["topics"].push_back(item);
        if (comma == std::string::npos)
          break;
        start = comma + 1;
      }
      if (!description.empty())
        body["description"] = description;
      res = client.send(verb::post, "/v1/endpoints", body.dump(), headers);
    } else if (what == "list") {
      res = client.send(verb::get, "/v1/endpoints", {}, headers);
    } else {
      res = client.send(verb::delete_, "/v1/endpoints/" + rest[1], {}, headers);
    }
    if (res.result_int() / 100 != 2) {
      std::cerr << "evmesh endpoints: " << res.result_int() << " " << res.reason() << ": "
                << problem_detail(res.body()) << std::endl;
      return 1;
    }
    if (what == "add") {
      std::cout << json::parse(res.body()).dump(2) << std::endl;
    } else if (what == "list") {
      auto listed = json::parse(res.body());
      for (const auto& ep : listed["endpoints"])
        std::cout << ep["id"].get<std::string>() << "  " << ep["url"].get<std::string>() << "  "
                  << join(ep["topics"]) << (ep["disabled"].get<bool>() ? "  (disabled)" : "") << "\n";
    } else {
      std::cout << "removed " << rest[1] << std::endl;
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "evmesh endpoints: " << e.what() << std::endl;
    return 1;
  }
}

} // namespace evmesh
