// Runs the real `evmesh` binary as a child process for integration tests:
// starts it on a free loopback port, waits for its "serving" line (reading
// its stdout, no sleeps), and stops it with SIGTERM or kills it with SIGKILL.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace evmesh::test {

// A fresh directory under the system temp dir, removed by the destructor.
class temp_dir {
public:
  temp_dir();
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::filesystem::path& path() const { return path_; }

private:
  std::filesystem::path path_;
};

// The result of running a command to completion.
struct command_result {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `evmesh args...` with extra environment variables and optional
// standard input; waits at most `timeout`.
command_result run_evmesh(const std::vector<std::string>& args,
                          const std::vector<std::string>& env = {}, const std::string& input = {},
                          std::chrono::seconds timeout = std::chrono::seconds{60});

// `evmesh args...` running in the background (e.g. `evmesh tail`), read
// line by line as it prints. SIGKILLed by the destructor if still running.
class running_command {
public:
  explicit running_command(const std::vector<std::string>& args,
                           const std::vector<std::string>& env = {});
  // Any program (a path), not evmesh.
  running_command(const std::string& program, const std::vector<std::string>& args,
                  const std::vector<std::string>& env = {});
  ~running_command();
  running_command(const running_command&) = delete;
  running_command& operator=(const running_command&) = delete;

  // The next line of standard output, or nullopt at EOF or after `timeout`.
  std::optional<std::string> next_line(std::chrono::milliseconds timeout = std::chrono::seconds{30});
  // Waits for the exit (bounded); the exit code, -1 on timeout. Fills err().
  int wait(std::chrono::seconds timeout = std::chrono::seconds{30});
  const std::string& err() const { return err_; }

private:
  int pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  std::string out_;
  std::string err_;
};

class node_process {
public:
  // Starts `evmesh node --data DIR --http 127.0.0.1:0 extra...` (with
  // `--cluster 127.0.0.1:0` unless `extra` names --cluster) and waits for it
  // to serve. Throws with the node's output if it does not.
  node_process(const std::filesystem::path& data_dir, std::vector<std::string> extra = {},
               std::vector<std::string> env = {});
  ~node_process();  // SIGKILL if still running
  node_process(const node_process&) = delete;
  node_process& operator=(const node_process&) = delete;

  uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string admin_token() const;
  std::string cluster_address() const { return cluster_address_; }  // HOST:PORT for --join

  // SIGSTOP / SIGCONT: the process freezes with its sockets open.
  void pause();
  void resume();

  // SIGTERM, then wait; returns the exit code (128+signal if killed).
  int stop(std::chrono::seconds timeout = std::chrono::seconds{30});
  // SIGKILL, then reap.
  void kill9();
  // Everything the node printed so far (stdout and stderr).
  std::string output();

private:
  int wait_exit(std::chrono::milliseconds timeout);
  void drain(std::chrono::milliseconds timeout);

  std::filesystem::path data_dir_;
  int pid_ = -1;
  int out_fd_ = -1;
  uint16_t port_ = 0;
  std::string cluster_address_;
  std::string output_;
};

} // namespace evmesh::test
