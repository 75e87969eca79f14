// One line of the node's log on stderr, handed to the C library in a single
// write: many threads log (actors, io threads, cluster sockets), and a line
// built piece by piece on std::cerr leaves in pieces that another thread's
// line can land between. Use: `log_line() << "evmesh: " << what;` — the line
// (with its newline) goes out when the temporary ends, at the semicolon.
#pragma once

#include <cstdio>
#include <sstream>
#include <string>

namespace evmesh {

class log_line {
public:
  log_line() = default;
  log_line(const log_line&) = delete;
  log_line& operator=(const log_line&) = delete;
  ~log_line() {
    text_ << '\n';
    auto line = text_.str();
    std::fwrite(line.data(), 1, line.size(), stderr);  // stderr is unbuffered: one write(2)
  }

  template <class T> log_line& operator<<(const T& value) {
    text_ << value;
    return *this;
  }

private:
  std::ostringstream text_;
};

} // namespace evmesh
