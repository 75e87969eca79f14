// `evmesh_test_postgres start STATE` / `stop STATE`: the ctest fixture that
// runs one throwaway PostgreSQL for all tests labelled `postgres`
// (tests/support/postgres_server.hpp). start leaves the server running and
// writes where it is to STATE; stop stops it and removes its directory.
#include "support/postgres_server.hpp"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

int main(int argc, char** argv) {
  if (argc != 3 || (std::string(argv[1]) != "start" && std::string(argv[1]) != "stop")) {
    std::cerr << "usage: evmesh_test_postgres start|stop STATE_FILE\n";
    return 2;
  }
  std::filesystem::path state = argv[2];
  try {
    if (std::string(argv[1]) == "start") {
      evmesh::test::postgres_server server;
      server.write_state(state);
      server.keep_running();
      std::cout << "postgres on " << server.url("postgres") << std::endl;
      return 0;
    }
    {
      evmesh::test::postgres_server attached(state);
      attached.stop();
    }
    std::string dir;
    std::ifstream(state) >> dir;
    std::filesystem::remove_all(dir);
    std::filesystem::remove(state);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "evmesh_test_postgres: " << e.what() << std::endl;
    return 1;
  }
}
