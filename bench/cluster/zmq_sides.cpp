// Raw ZeroMQ baseline: PUSH in the publisher process → PULL in the subscriber
// process over tcp on loopback, one message per event, default high-water
// marks (so PUSH blocks rather than drops). There is no way back on
// PUSH/PULL, so readiness is ZMQ_IMMEDIATE: the first send blocks until the
// connection to PULL is up.
#include "sides.hpp"

#include "receive_log.hpp"
#include "send_schedule.hpp"

#include <zmq.hpp>

#include <cstdio>
#include <stdexcept>

namespace cluster_bench {

namespace {

constexpr int receive_poll_ms = 100;
constexpr int linger_ms = 10'000;

std::string tcp(const std::string& address) { return "tcp://" + address; }

class zmq_push_side final : public publisher_side {
public:
  explicit zmq_push_side(const options& opt) : payload_bytes_(opt.payload_bytes) {
    socket_.set(zmq::sockopt::immediate, 1);
    socket_.set(zmq::sockopt::linger, linger_ms);
    socket_.set(zmq::sockopt::sndtimeo, static_cast<int>(opt.ready_timeout * 1000));
    socket_.connect(tcp(opt.address));
  }

  // The send timeout, set from --ready-timeout, bounds the wait.
  bool wait_until_delivering(double) override {
    std::string probe;
    encode_message({message_kind::probe, 0, clock_ns(), 0}, payload_bytes_, probe);
    return socket_.send(zmq::buffer(probe), zmq::send_flags::none).has_value();
  }

  void send(const std::string& payload) override {
    if (!socket_.send(zmq::buffer(payload), zmq::send_flags::none))
      throw std::runtime_error("zmq send blocked longer than the ready timeout");
  }

  void flush() override {}  // linger on close delivers the rest

private:
  std::size_t payload_bytes_;
  zmq::context_t context_{1};
  zmq::socket_t socket_{context_, zmq::socket_type::push};
};

} // namespace

int run_zmq_pull(const options& opt) {
  zmq::context_t context{1};
  zmq::socket_t socket{context, zmq::socket_type::pull};
  socket.set(zmq::sockopt::rcvtimeo, receive_poll_ms);
  socket.bind(tcp(opt.address));
  receive_log log{opt};
  std::printf("ready\n");
  std::fflush(stdout);
  zmq::message_t message;
  while (!log.finished())
    if (socket.recv(message, zmq::recv_flags::none))
      log.record({static_cast<const char*>(message.data()), message.size()});
  return log.report();
}

int run_zmq_push(const options& opt) {
  zmq_push_side side{opt};
  return run_send_schedule(side, opt);
}

} // namespace cluster_bench
