// A minimal Server-Sent Events client for integration tests, on a raw POSIX
// socket so a test can shrink its receive buffer and simply stop reading.
// It sends one GET, parses the response head, undoes chunked encoding and
// splits the body into SSE messages. Every wait is bounded (poll with a
// deadline); nothing sleeps.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>

namespace evmesh::test {

struct sse_message {
  bool comment = false;  // a `: text` line, e.g. the heartbeat
  std::string text;      // the comment's text
  std::string id, event, data;
};

class sse_client {
public:
  using clock = std::chrono::steady_clock;

  // Connects and sends the request; `receive_buffer` > 0 sets SO_RCVBUF first.
  sse_client(uint16_t port, const std::string& target,
             const std::map<std::string, std::string>& headers = {}, int receive_buffer = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0)
      throw std::runtime_error("socket failed");
    if (receive_buffer > 0)
      ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      throw std::runtime_error("connect failed");
    std::string req = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n";
    for (const auto& [name, value] : headers)
      req += name + ": " + value + "\r\n";
    req += "\r\n";
    if (::send(fd_, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size()))
      throw std::runtime_error("send failed");
  }
  ~sse_client() { close(); }
  sse_client(const sse_client&) = delete;
  sse_client& operator=(const sse_client&) = delete;

  void close() {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = -1;
  }

  // Reads the response head; returns the status (0 if none arrived in time).
  int status(std::chrono::milliseconds timeout = std::chrono::seconds{10}) {
    auto deadline = clock::now() + timeout;
    while (status_ == 0 && read_some(deadline))
      parse_head();
    return status_;
  }
  // Header value by lower-case name; empty if absent.
  std::string header(const std::string& lower_name) const {
    auto it = headers_.find(lower_name);
    return it == headers_.end() ? std::string{} : it->second;
  }
  bool has_header(const std::string& lower_name) const { return headers_.count(lower_name) > 0; }

  // The next SSE message, or nullopt if none arrives in time or the
  // connection ends.
  std::optional<sse_message> next(std::chrono::milliseconds timeout = std::chrono::seconds{10}) {
    auto deadline = clock::now() + timeout;
    if (status(timeout) == 0)
      return std::nullopt;
    for (;;) {
      if (auto m = take_message())
        return m;
      if (!read_some(deadline))
        return std::nullopt;
      dechunk();
    }
  }
  // Next message that is an event (heartbeats skipped).
  std::optional<sse_message> next_event(std::chrono::milliseconds timeout = std::chrono::seconds{10}) {
    auto deadline = clock::now() + timeout;
    for (;;) {
      auto m = next(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()));
      if (!m || !m->comment)
        return m;
    }
  }
  // Reads and discards until the server closes; false on timeout.
  bool wait_closed(std::chrono::milliseconds timeout = std::chrono::seconds{10}) {
    auto deadline = clock::now() + timeout;
    while (read_some(deadline))
      raw_.clear();
    return eof_;
  }

private:
  // Appends what arrives before the deadline; false on timeout, EOF or error.
  bool read_some(clock::time_point deadline) {
    if (fd_ < 0 || eof_)
      return false;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
    pollfd p{fd_, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0)
      return false;
    char buf[65536];
    auto n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    raw_.append(buf, static_cast<std::size_t>(n));
    return true;
  }

  void parse_head() {
    auto end = raw_.find("\r\n\r\n");
    if (end == std::string::npos)
      return;
    auto head = raw_.substr(0, end + 2);
    raw_.erase(0, end + 4);
    status_ = std::stoi(head.substr(9, 3));
    for (auto pos = head.find("\r\n") + 2; pos < head.size();) {
      auto eol = head.find("\r\n", pos);
      auto line = head.substr(pos, eol - pos);
      auto colon = line.find(':');
      auto name = line.substr(0, colon);
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
      headers_[name] = line.substr(line.find_first_not_of(' ', colon + 1));
      pos = eol + 2;
    }
    chunked_ = header("transfer-encoding") == "chunked";
    dechunk();
  }

  void dechunk() {
    if (!chunked_) {
      body_ += raw_;
      raw_.clear();
      return;
    }
    for (;;) {
      auto eol = raw_.find("\r\n");
      if (eol == std::string::npos)
        return;
      auto size = std::stoul(raw_.substr(0, eol), nullptr, 16);
      if (raw_.size() < eol + 2 + size + 2)
        return;
      body_.append(raw_, eol + 2, size);
      raw_.erase(0, eol + 2 + size + 2);
    }
  }

  std::optional<sse_message> take_message() {
    auto end = body_.find("\n\n");
    if (end == std::string::npos)
      return std::nullopt;
    sse_message m;
    for (std::size_t pos = 0; pos < end;) {
      auto eol = std::min(body_.find('\n', pos), end);
      auto line = body_.substr(pos, eol - pos);
      pos = eol + 1;
      if (line.rfind(": ", 0) == 0) {
        m.comment = true;
        m.text = line.substr(2);
      } else if (line.rfind("id: ", 0) == 0) {
        m.id = line.substr(4);
      } else if (line.rfind("event: ", 0) == 0) {
        m.event = line.substr(7);
      } else if (line.rfind("data: ", 0) == 0) {
        m.data = line.substr(6);
      }
    }
    body_.erase(0, end + 2);
    return m;
  }

  int fd_ = -1;
  bool eof_ = false;
  int status_ = 0;
  bool chunked_ = false;
  std::map<std::string, std::string> headers_;
  std::string raw_;   // bytes not yet de-chunked
  std::string body_;  // SSE text not yet split into messages
};

} // namespace evmesh::test
