// cluster_bench: one side of one system in the cluster benchmark (evmesh node
// to node, raw ZeroMQ PUSH/PULL, a two-server NATS cluster), or a helper that
// prints free loopback ports for run.sh. run.sh starts the pairs and prints
// the table; see bench/README.md.
#include "bench_options.hpp"
#include "sides.hpp"
#include "stop_signal.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <exception>
#include <iostream>
#include <map>
#include <string>
#include <vector>

namespace {

// Binds `count` TCP sockets to 127.0.0.1:0 at once (so the ports differ),
// prints their ports on one line, closes them.
int print_free_ports(int count) {
  std::vector<int> sockets;
  std::string line;
  for (int i = 0; i < count; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      std::perror("cluster_bench: free-ports");
      return 1;
    }
    sockets.push_back(fd);
    line += (line.empty() ? "" : " ") + std::to_string(ntohs(address.sin_port));
  }
  for (int fd : sockets)
    ::close(fd);
  std::cout << line << std::endl;
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  using namespace cluster_bench;
  if (argc == 2 && std::strcmp(argv[1], "--help") == 0) {
    std::cout << usage;
    return 0;
  }
  if (argc == 3 && std::strcmp(argv[1], "free-ports") == 0)
    return print_free_ports(std::atoi(argv[2]));
  block_stop_signals();  // before any library starts a thread
  auto opt = parse_options(argc, argv);
  if (!opt)
    return 2;
  const std::map<std::string, int (*)(const options&)> roles{
    {"zmq-pull", run_zmq_pull},     {"zmq-push", run_zmq_push},
    {"nats-sub", run_nats_sub},     {"nats-pub", run_nats_pub},
    {"evmesh-sub", run_evmesh_sub}, {"evmesh-pub", run_evmesh_pub}};
  try {
    return roles.at(opt->role)(*opt);
  } catch (const std::exception& e) {
    std::cerr << "cluster_bench " << opt->role << ": " << e.what() << std::endl;
    return 1;
  }
}
