// See postgres_server.hpp.
#include "support/postgres_server.hpp"

#include <libpq-fe.h>

#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace evmesh::test {
namespace {

namespace fs = std::filesystem;

// Where initdb and pg_ctl are: $EVMESH_PG_BIN, else the newest
// /usr/lib/postgresql/<version>/bin.
fs::path postgres_bin() {
  if (const char* dir = std::getenv("EVMESH_PG_BIN"))
    return dir;
  fs::path best;
  std::error_code ec;
  int best_version = 0;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    int version = std::atoi(entry.path().filename().c_str());
    if (version > best_version && fs::exists(entry.path() / "bin" / "pg_ctl")) {
      best_version = version;
      best = entry.path() / "bin";
    }
  }
  if (best.empty())
    throw std::runtime_error("no PostgreSQL server binaries (apt-get install postgresql, or set EVMESH_PG_BIN)");
  return best;
}

bool running_as_root() { return ::geteuid() == 0; }

// Runs a PostgreSQL program (as `postgres` when we are root), its output
// appended to `log`; throws with the log's tail when it fails.
void run_pg(const std::string& program, std::vector<std::string> args, const fs::path& log) {
  std::vector<std::string> argv;
  if (running_as_root())
    argv = {"runuser", "-u", "postgres", "--"};
  argv.push_back((postgres_bin() / program).string());
  argv.insert(argv.end(), args.begin(), args.end());
  pid_t pid = ::fork();
  if (pid < 0)
    throw std::runtime_error("fork failed");
  if (pid == 0) {
    FILE* out = std::fopen(log.c_str(), "a");
    if (out) {
      ::dup2(fileno(out), 1);
      ::dup2(fileno(out), 2);
    }
    ::chdir("/");
    std::vector<char*> raw;
    for (auto& a : argv)
      raw.push_back(a.data());
    raw.push_back(nullptr);
    ::execvp(raw[0], raw.data());
    std::_Exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::ifstream in(log);
    std::stringstream text;
    text << in.rdbuf();
    auto all = text.str();
    throw std::runtime_error(program + " failed:\n" + all.substr(all.size() > 3000 ? all.size() - 3000 : 0));
  }
}

uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("no free port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

// Runs one SQL command on `url`, throwing with the server's message.
void run_sql(const std::string& url, const std::string& sql) {
  PGconn* conn = PQconnectdb(url.c_str());
  std::string error;
  if (PQstatus(conn) != CONNECTION_OK) {
    error = PQerrorMessage(conn);
  } else {
    PGresult* r = PQexec(conn, sql.c_str());
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
      error = PQresultErrorMessage(r);
    PQclear(r);
  }
  PQfinish(conn);
  if (!error.empty())
    throw std::runtime_error(sql + ": " + error);
}

} // namespace

postgres_server::postgres_server() : owned_(true) {
  auto base = fs::temp_directory_path() / ("evmesh-pg-" + std::to_string(::getpid()) + "-XXXXXX");
  std::string pattern = base.string();
  if (!::mkdtemp(pattern.data()))
    throw std::runtime_error("mkdtemp failed");
  dir_ = pattern;
  if (running_as_root()) {
    auto* user = ::getpwnam("postgres");
    if (!user)
      throw std::runtime_error("running as root needs the `postgres` system user (apt-get install postgresql)");
    if (::chown(dir_.c_str(), user->pw_uid, user->pw_gid) != 0)
      throw std::runtime_error("cannot hand " + dir_.string() + " to postgres");
  }
  fs::permissions(dir_, fs::perms::owner_all);
  run_pg("initdb", {"-D", (dir_ / "data").string(), "-U", "evmesh", "-A", "trust", "-E", "UTF8", "--locale=C", "-N"},
         dir_ / "tools.log");
  for (int tries = 1;; ++tries) {
    port_ = free_port();
    try {
      start();
      return;
    } catch (const std::exception&) {
      if (tries == 3)
        throw;  // someone took the free port before the postmaster, three times
    }
  }
}

postgres_server::postgres_server(const fs::path& state_file) {
  std::ifstream in(state_file);
  std::string dir;
  if (!(in >> dir >> port_))
    throw std::runtime_error("cannot read " + state_file.string());
  dir_ = dir;
  running_ = true;
}

postgres_server::~postgres_server() {
  if (!owned_)
    return;
  try {
    if (running_)
      stop();
  } catch (...) {
  }
  std::error_code ignored;
  fs::remove_all(dir_, ignored);
}

postgres_server& postgres_server::shared() {
  static std::unique_ptr<postgres_server> server = [] {
    if (const char* state = std::getenv("EVMESH_TEST_POSTGRES_STATE"))
      return std::make_unique<postgres_server>(fs::path(state));
    return std::make_unique<postgres_server>();
  }();
  return *server;
}

void postgres_server::start() {
  run_pg("pg_ctl", {"-D", (dir_ / "data").string(), "-l", (dir_ / "server.log").string(), "-w", "-t", "60", "-o",
                    "-p " + std::to_string(port_) + " -k " + dir_.string() +
                      " -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off",
                    "start"},
         dir_ / "tools.log");
  running_ = true;
  // pg_ctl -w waited for the postmaster; check that TCP answers, bounded.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{30};
  while (PQping(url("postgres").c_str()) != PQPING_OK)
    if (std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error("PostgreSQL on port " + std::to_string(port_) + " does not answer");
}

void postgres_server::stop() {
  run_pg("pg_ctl", {"-D", (dir_ / "data").string(), "-m", "fast", "-w", "-t", "60", "stop"}, dir_ / "tools.log");
  running_ = false;
}

std::string postgres_server::url(const std::string& database) const {
  return "postgresql://evmesh@127.0.0.1:" + std::to_string(port_) + "/" + database;
}

std::string postgres_server::create_database() {
  static std::atomic<int> counter{0};
  auto name = "evmesh_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
  run_sql(url("postgres"), "CREATE DATABASE " + name);
  return url(name);
}

void postgres_server::write_state(const fs::path& state_file) const {
  std::ofstream(state_file) << dir_.string() << "\n" << port_ << "\n";
}

} // namespace evmesh::test
