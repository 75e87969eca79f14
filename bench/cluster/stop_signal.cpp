// Blocking and awaiting SIGTERM/SIGINT (see stop_signal.hpp).
#include "stop_signal.hpp"

#include <cerrno>
#include <csignal>
#include <ctime>

namespace cluster_bench {

namespace {

sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

} // namespace

void block_stop_signals() {
  auto set = stop_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

void wait_for_stop_signal(double timeout_seconds) {
  auto set = stop_signals();
  timespec timeout{};
  timeout.tv_sec = static_cast<time_t>(timeout_seconds);
  timeout.tv_nsec = static_cast<long>((timeout_seconds - static_cast<double>(timeout.tv_sec)) * 1e9);
  while (sigtimedwait(&set, nullptr, &timeout) < 0 && errno == EINTR) {
  }
}

} // namespace cluster_bench
