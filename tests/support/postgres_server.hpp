// A throwaway PostgreSQL server for tests: initdb in a fresh temp dir, the
// postmaster on a free 127.0.0.1 port with its socket in that dir, stopped
// (pg_ctl stop -m fast) and removed afterwards. PostgreSQL refuses to run as
// root, so as root initdb/pg_ctl run as the `postgres` system user (runuser)
// and the dir is handed to it. fsync=off: the tests check evmesh, not the
// disk (a clean stop still writes everything; with fsync on, the shutdown
// checkpoint of a few dozen test databases took over a minute on a busy
// machine). Waits are bounded (pg_ctl -w -t, connect
// polls with a deadline); nothing sleeps to synchronise.
//
// Under ctest, one server serves every test process (the `postgres` ctest
// fixture starts it with `evmesh_test_postgres start STATE` and stops it
// with `... stop STATE`; EVMESH_TEST_POSTGRES_STATE names the file); a test
// binary run by hand starts its own.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace evmesh::test {

class postgres_server {
public:
  // Starts a new server; throws std::runtime_error (with the log) if it
  // cannot.
  postgres_server();
  // Attaches to the server a state file describes (not owned: not stopped).
  explicit postgres_server(const std::filesystem::path& state_file);
  ~postgres_server();
  postgres_server(const postgres_server&) = delete;
  postgres_server& operator=(const postgres_server&) = delete;

  // The ctest-managed server, or one started for this process.
  static postgres_server& shared();

  // A new empty database; its postgres:// URL.
  std::string create_database();
  std::string url(const std::string& database) const;
  uint16_t port() const { return port_; }

  // Stops the postmaster (fast: sessions are cut) / starts it again on the
  // same port and data; both wait until done.
  void stop();
  void start();

  void write_state(const std::filesystem::path& state_file) const;
  // Leaves the server running when this object goes (the ctest fixture).
  void keep_running() { owned_ = false; }

private:
  std::filesystem::path dir_;  // data/, log, socket
  uint16_t port_ = 0;
  bool owned_ = false;
  bool running_ = false;
};

} // namespace evmesh::test
