// The `evmesh` subcommands; each takes the arguments after its name and
// returns the process exit code.
#pragma once

#include <string>
#include <vector>

namespace evmesh {

int run_node_command(const std::vector<std::string>& args);
int run_publish_command(const std::vector<std::string>& args);
int run_tail_command(const std::vector<std::string>& args);
int run_endpoints_command(const std::vector<std::string>& args);

} // namespace evmesh
