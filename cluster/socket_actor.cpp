// See socket_actor.hpp.
#include "cluster/detail/socket_actor.hpp"

#include "base/log_line.hpp"

#include <stdexcept>
#include <sys/eventfd.h>
#include <unistd.h>

namespace evmesh::cluster {

socket_actor::socket_actor(caf::actor_config& cfg)
    : blocking_actor(cfg), wakeup_fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  if (wakeup_fd_ < 0)
    throw std::runtime_error("eventfd failed");
}

socket_actor::~socket_actor() { ::close(wakeup_fd_); }

void socket_actor::enqueue(caf::mailbox_element_ptr ptr, caf::execution_unit* eu) {
  blocking_actor::enqueue(std::move(ptr), eu);
  uint64_t one = 1;
  [[maybe_unused]] auto written = ::write(wakeup_fd_, &one, sizeof one);
}

void socket_actor::act() {
  try {
    start();
  } catch (const std::exception& e) {
    log_line() << "evmesh: " << name() << " could not start: " << e.what();
    finish();
    return;
  }
  bool running = on_mail();
  auto sleep = on_timer();
  while (running) {
    auto socks = sockets();
    std::vector<zmq::pollitem_t> items;
    items.reserve(socks.size() + 1);
    for (std::size_t i = 0; i < socks.size(); ++i)
      items.push_back({socks[i].handle(), 0,
                       static_cast<short>(ZMQ_POLLIN | (wants_output(i) ? ZMQ_POLLOUT : 0)), 0});
    items.push_back({nullptr, wakeup_fd_, ZMQ_POLLIN, 0});
    try {
      zmq::poll(items.data(), items.size(), sleep);
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR)
        throw;
    }
    if (items.back().revents & ZMQ_POLLIN) {
      uint64_t count = 0;
      [[maybe_unused]] auto got = ::read(wakeup_fd_, &count, sizeof count);
    }
    // Mail first: it may be the exit message.
    running = on_mail();
    if (!running)
      break;
    for (std::size_t i = 0; i < socks.size(); ++i)
      if (items[i].revents & (ZMQ_POLLIN | ZMQ_POLLOUT))
        on_ready(i);
    sleep = on_timer();
  }
  finish();
}

bool receive_parts(zmq::socket_t& socket, std::vector<zmq::message_t>& parts, std::size_t max_parts,
                   bool& oversized) {
  parts.clear();
  oversized = false;
  zmq::message_t part;
  if (!socket.recv(part, zmq::recv_flags::dontwait))
    return false;
  for (;;) {
    bool more = part.more();
    if (parts.size() < max_parts)
      parts.push_back(std::move(part));
    else
      oversized = true;
    if (!more)
      return true;
    part = zmq::message_t{};
    if (!socket.recv(part, zmq::recv_flags::none))
      return true;
  }
}

} // namespace evmesh::cluster
