// The base of the actors that own a ZeroMQ socket (zmq sockets are not
// thread-safe, so exactly one thread may touch each): a detached blocking
// actor whose loop polls its sockets and an eventfd together. Every message
// sent to the actor writes the eventfd, so the loop wakes for mail as fast as
// for network input; the subclass drains the mailbox without blocking,
// handles readable sockets, and runs its timers (see the CAF field guide,
// section 5.3).
#pragma once

#include <caf/all.hpp>

#include <zmq.hpp>

#include <chrono>
#include <vector>

namespace evmesh::cluster {

// Reads one multipart message without waiting for its first part: false
// when none is queued. Keeps at most `max_parts` parts; `oversized` says
// when more came (they are read and dropped).
bool receive_parts(zmq::socket_t& socket, std::vector<zmq::message_t>& parts, std::size_t max_parts,
                   bool& oversized);

class socket_actor : public caf::blocking_actor {
public:
  explicit socket_actor(caf::actor_config& cfg);
  ~socket_actor() override;

  using blocking_actor::enqueue;
  void enqueue(caf::mailbox_element_ptr ptr, caf::execution_unit* eu) override;
  void act() final;

protected:
  // Called once on the actor's thread before the loop; may throw to fail.
  virtual void start() {}
  // The sockets to poll for input, in a stable order.
  virtual std::vector<zmq::socket_ref> sockets() = 0;
  // Whether sockets()[i] also waits to become writable.
  virtual bool wants_output(std::size_t) const { return false; }
  // sockets()[i] is readable or writable (drain it without blocking).
  virtual void on_ready(std::size_t index) = 0;
  // Handles the mail (after a wake-up); return false to leave the loop.
  virtual bool on_mail() = 0;
  // Time-driven work; returns how long the loop may sleep at most.
  virtual std::chrono::milliseconds on_timer() = 0;
  // Called once on the actor's thread after the loop (close sockets here).
  virtual void finish() {}

  // For on_mail(): drains everything queued, calling `handlers` per message;
  // returns false once an exit message arrived.
  template <class... Handlers>
  bool drain(Handlers&&... handlers) {
    bool running = true;
    for (bool more = true; more && running;)
      receive(std::forward<Handlers>(handlers)...,
              [&](caf::exit_msg& msg) {
                running = false;
                fail_state(msg.reason);
              },
              caf::after(std::chrono::seconds(0)) >> [&] { more = false; });
    return running;
  }

private:
  int wakeup_fd_;
};

} // namespace evmesh::cluster
