// See node_process.hpp.
#include "support/node_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <algorithm>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <random>
#include <regex>
#include <stdexcept>

#ifndef EVMESH_BINARY
#error "EVMESH_BINARY must name the evmesh executable"
#endif

extern char** environ;

namespace evmesh::test {
namespace {

using clock = std::chrono::steady_clock;

// Forks and execs the binary with stdout+stderr on one pipe (or two), stdin
// from a pipe. Returns pid; fills the parent's ends.
int spawn(const std::string& program, const std::vector<std::string>& args, const std::vector<std::string>& env,
          int& out_fd, int* err_fd, int* in_fd) {
  int out[2], err[2], in[2];
  if (pipe(out) != 0 || (err_fd && pipe(err) != 0) || pipe(in) != 0)
    throw std::runtime_error("pipe failed");
  std::vector<std::string> environment;
  for (char** e = environ; *e; ++e)
    environment.emplace_back(*e);
  for (const auto& e : env)
    environment.push_back(e);
  int pid = fork();
  if (pid < 0)
    throw std::runtime_error("fork failed");
  if (pid == 0) {
    dup2(out[1], 1);
    dup2(err_fd ? err[1] : out[1], 2);
    dup2(in[0], 0);
    // Only 0, 1 and 2 stay open: a stray write end would keep stdin from EOF.
    for (int fd : {out[0], out[1], in[0], in[1]})
      close(fd);
    if (err_fd) {
      close(err[0]);
      close(err[1]);
    }
    std::vector<char*> argv{const_cast<char*>(program.c_str())};
    for (const auto& a : args)
      argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (const auto& e : environment)
      envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    execve(program.c_str(), argv.data(), envp.data());
    _exit(127);
  }
  close(out[1]);
  out_fd = out[0];
  if (err_fd) {
    close(err[1]);
    *err_fd = err[0];
  }
  close(in[0]);
  if (in_fd)
    *in_fd = in[1];
  else
    close(in[1]);
  return pid;
}

// Reads what is available on fd into out; false at EOF.
bool read_some(int fd, std::string& out) {
  char buffer[4096];
  auto n = read(fd, buffer, sizeof buffer);
  if (n <= 0)
    return false;
  out.append(buffer, static_cast<std::size_t>(n));
  return true;
}

int decode_status(int status) {
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  if (WIFSIGNALED(status))
    return 128 + WTERMSIG(status);
  return -1;
}

} // namespace

temp_dir::temp_dir() {
  std::random_device rd;
  path_ = std::filesystem::temp_directory_path() /
          ("evmesh-test-" + std::to_string(getpid()) + "-" + std::to_string(rd()));
  std::filesystem::create_directories(path_);
}

temp_dir::~temp_dir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

command_result run_evmesh(const std::vector<std::string>& args, const std::vector<std::string>& env,
                          const std::string& input, std::chrono::seconds timeout) {
  command_result result;
  int out_fd = -1, err_fd = -1, in_fd = -1;
  int pid = spawn(EVMESH_BINARY, args, env, out_fd, &err_fd, &in_fd);
  if (!input.empty() && write(in_fd, input.data(), input.size()) < 0)
    throw std::runtime_error("write to child failed");
  close(in_fd);
  auto deadline = clock::now() + timeout;
  bool out_open = true, err_open = true;
  while ((out_open || err_open) && clock::now() < deadline) {
    pollfd fds[] = {{out_open ? out_fd : -1, POLLIN, 0}, {err_open ? err_fd : -1, POLLIN, 0}};
    poll(fds, 2, 100);
    if (fds[0].revents)
      out_open = read_some(out_fd, result.out);
    if (fds[1].revents)
      err_open = read_some(err_fd, result.err);
  }
  if (out_open || err_open)
    kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  close(out_fd);
  close(err_fd);
  result.exit_code = decode_status(status);
  return result;
}

running_command::running_command(const std::vector<std::string>& args,
                                 const std::vector<std::string>& env)
  : running_command(EVMESH_BINARY, args, env) {}

running_command::running_command(const std::string& program, const std::vector<std::string>& args,
                                 const std::vector<std::string>& env) {
  pid_ = spawn(program, args, env, out_fd_, &err_fd_, nullptr);
}

running_command::~running_command() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  close(out_fd_);
  close(err_fd_);
}

std::optional<std::string> running_command::next_line(std::chrono::milliseconds timeout) {
  auto deadline = clock::now() + timeout;
  while (true) {
    if (auto newline = out_.find('\n'); newline != std::string::npos) {
      auto line = out_.substr(0, newline);
      out_.erase(0, newline + 1);
      return line;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
    if (left.count() <= 0)
      return std::nullopt;
    pollfd fd{out_fd_, POLLIN, 0};
    if (poll(&fd, 1, static_cast<int>(left.count())) > 0 && !read_some(out_fd_, out_))
      return std::nullopt;
  }
}

int running_command::wait(std::chrono::seconds timeout) {
  auto deadline = clock::now() + timeout;
  int status = 0;
  while (clock::now() < deadline) {
    pollfd fd{err_fd_, POLLIN, 0};
    if (poll(&fd, 1, 50) > 0)
      read_some(err_fd_, err_);
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      while (read_some(err_fd_, err_)) {
      }
      return decode_status(status);
    }
  }
  return -1;
}

node_process::node_process(const std::filesystem::path& data_dir, std::vector<std::string> extra,
                           std::vector<std::string> env)
  : data_dir_(data_dir) {
  std::vector<std::string> args{"node", "--data", data_dir.string(), "--http", "127.0.0.1:0"};
  if (std::find(extra.begin(), extra.end(), "--cluster") == extra.end())
    extra.insert(extra.begin(), {"--cluster", "127.0.0.1:0"});
  args.insert(args.end(), extra.begin(), extra.end());
  pid_ = spawn(EVMESH_BINARY, args, env, out_fd_, nullptr, nullptr);
  static const std::regex serving{R"(serving http://[^ ]+:(\d+) \(data .*, cluster ([^ )]*)\))"};
  auto deadline = clock::now() + std::chrono::seconds{30};
  std::smatch match;
  while (clock::now() < deadline) {
    if (std::regex_search(output_, match, serving)) {
      port_ = static_cast<uint16_t>(std::stoi(match[1]));
      cluster_address_ = match[2];
      return;
    }
    pollfd fd{out_fd_, POLLIN, 0};
    poll(&fd, 1, 100);
    if (fd.revents && !read_some(out_fd_, output_))
      break;
  }
  kill9();
  throw std::runtime_error("evmesh node did not start; it printed:\n" + output_);
}

node_process::~node_process() {
  if (pid_ > 0)
    kill9();
  if (out_fd_ >= 0)
    close(out_fd_);
}

void node_process::pause() {
  if (pid_ > 0)
    kill(pid_, SIGSTOP);
}

void node_process::resume() {
  if (pid_ > 0)
    kill(pid_, SIGCONT);
}

std::string node_process::admin_token() const {
  std::ifstream in{data_dir_ / "admin.token"};
  std::string token;
  std::getline(in, token);
  return token;
}

void node_process::drain(std::chrono::milliseconds timeout) {
  auto deadline = clock::now() + timeout;
  while (out_fd_ >= 0 && clock::now() < deadline) {
    pollfd fd{out_fd_, POLLIN, 0};
    if (poll(&fd, 1, 10) <= 0)
      return;
    if (!read_some(out_fd_, output_)) {
      close(out_fd_);
      out_fd_ = -1;
    }
  }
}

std::string node_process::output() {
  drain(std::chrono::milliseconds{100});
  return output_;
}

int node_process::wait_exit(std::chrono::milliseconds timeout) {
  auto deadline = clock::now() + timeout;
  int status = 0;
  while (clock::now() < deadline) {
    drain(std::chrono::milliseconds{50});
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      drain(std::chrono::milliseconds{200});
      return decode_status(status);
    }
  }
  return -1;
}

int node_process::stop(std::chrono::seconds timeout) {
  if (pid_ <= 0)
    return -1;
  kill(pid_, SIGTERM);
  int code = wait_exit(timeout);
  if (code < 0)
    kill9();
  return code;
}

void node_process::kill9() {
  if (pid_ <= 0)
    return;
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

} // namespace evmesh::test
