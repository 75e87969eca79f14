// See client_options.hpp.
#include "cli/client_options.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

namespace evmesh {

void node_client_options::add_to(option_parser& parser, const std::string& token_help) {
  parser.add({"url", "URL", "the node's HTTP API (default http://127.0.0.1:8080)",
              [this](const std::string& v) { url = v; }});
  parser.add({"token", "TOKEN", token_help + " (default: <data>/admin.token)",
              [this](const std::string& v) { token = v; }});
  parser.add({"data", "DIR", "where to find admin.token when no token is given (default ./evmesh-data)",
              [this](const std::string& v) { data_dir = v; }});
}

std::string node_client_options::resolved_token() const {
  if (!token.empty())
    return token;
  std::string from_file;
  std::ifstream in{std::filesystem::path(data_dir) / "admin.token"};
  std::getline(in, from_file);
  return from_file;
}

std::string problem_detail(const std::string& body) {
  try {
    return nlohmann::json::parse(body).value("detail", body);
  } catch (const nlohmann::json::exception&) {
    return body;
  }
}

} // namespace evmesh
