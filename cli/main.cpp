// The `evmesh` binary: dispatches to a subcommand.
#include "cli/commands.hpp"

#include <iostream>

namespace {

const char* const usage = R"(usage: evmesh <command> [options]

commands:
  node      run a node (HTTP API on 127.0.0.1:8080, data in ./evmesh-data)
  publish   publish one event to a node over HTTP
  tail      print a node's events live, one JSON object per line
  endpoints add URL --topics P,... | list | rm ID: manage webhook endpoints
  version   print the version

`evmesh <command> --help` describes a command's options.
)";

} // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + std::min(argc, 2), argv + argc);
  std::string command = argc > 1 ? argv[1] : "";
  if (command == "node")
    return evmesh::run_node_command(args);
  if (command == "publish")
    return evmesh::run_publish_command(args);
  if (command == "tail")
    return evmesh::run_tail_command(args);
  if (command == "endpoints")
    return evmesh::run_endpoints_command(args);
  if (command == "version" || command == "--version") {
    std::cout << "evmesh " << EVMESH_VERSION << "\n";
    return 0;
  }
  if (command == "help" || command == "--help" || command == "-h") {
    std::cout << usage;
    return 0;
  }
  std::cerr << (command.empty() ? "evmesh: no command given\n"
                                : "evmesh: unknown command \"" + command + "\"\n")
            << usage;
  return 2;
}
