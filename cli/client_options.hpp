// What the client subcommands (`evmesh publish`, `evmesh tail`) share: the
// --url, --token and --data options, the token fallback to a local node's
// <data>/admin.token, and reading the detail out of a problem+json answer.
#pragma once

#include "cli/options.hpp"

#include <string>

namespace evmesh {

struct node_client_options {
  std::string url = "http://127.0.0.1:8080";
  std::string token;
  std::string data_dir = "./evmesh-data";

  // Adds --url, --token (`token_help` says which scope it needs) and --data.
  void add_to(option_parser& parser, const std::string& token_help);
  // --token, else the first line of <data>/admin.token, else empty.
  std::string resolved_token() const;
};

// The `detail` of a problem+json body, or the body itself.
std::string problem_detail(const std::string& body);

} // namespace evmesh
