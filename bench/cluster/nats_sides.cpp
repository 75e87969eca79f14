// NATS baseline (libnats C client): the publisher connects to server 1, the
// subscriber to server 2 of a two-server nats-server cluster, so every message
// crosses the route between the servers, as evmesh's cross-node path does.
// Core NATS (no JetStream): at-most-once, so loss is possible and counted.
// Readiness: the publisher sends probes on the data subject until the
// subscriber's reply arrives on the reply subject (route and interest up).
// The subscriber's pending limits are lifted so the client library does not
// drop; a slow consumer cut off by the server still shows up as loss.
#include "sides.hpp"

#include "receive_log.hpp"
#include "send_schedule.hpp"

#include <nats/nats.h>

#include <cstdio>
#include <stdexcept>

namespace cluster_bench {

namespace {

constexpr const char* data_subject = "bench.data";
constexpr const char* reply_subject = "bench.reply";
constexpr int receive_poll_ms = 100;
constexpr int flush_timeout_ms = 30'000;

void check(natsStatus status, const char* what) {
  if (status != NATS_OK)
    throw std::runtime_error(std::string("nats: ") + what + ": " + natsStatus_GetText(status));
}

// One connection to the server at `address`, closed with this object.
class nats_connection {
public:
  explicit nats_connection(const std::string& address) {
    check(natsConnection_ConnectTo(&connection_, ("nats://" + address).c_str()), "connect");
  }
  ~nats_connection() {
    natsConnection_Destroy(connection_);
    nats_Close();
  }
  nats_connection(const nats_connection&) = delete;
  nats_connection& operator=(const nats_connection&) = delete;

  void publish(const char* subject, const std::string& payload) {
    check(natsConnection_Publish(connection_, subject, payload.data(),
                                 static_cast<int>(payload.size())),
          "publish");
  }
  natsConnection* get() { return connection_; }

private:
  natsConnection* connection_ = nullptr;
};

class nats_publisher_side final : public publisher_side {
public:
  explicit nats_publisher_side(const options& opt) : connection_(opt.address), opt_(opt) {
    check(natsConnection_Subscribe(&replies_, connection_.get(), reply_subject, on_reply, this),
          "subscribe to replies");
    check(natsConnection_FlushTimeout(connection_.get(), flush_timeout_ms), "flush");
  }
  ~nats_publisher_side() override { natsSubscription_Destroy(replies_); }

  bool wait_until_delivering(double timeout_seconds) override {
    return probe_until_answered([this](const std::string& probe) { send(probe); }, answered_,
                                opt_.payload_bytes, timeout_seconds);
  }
  void send(const std::string& payload) override { connection_.publish(data_subject, payload); }
  void flush() override {
    check(natsConnection_FlushTimeout(connection_.get(), flush_timeout_ms), "flush");
  }

private:
  static void on_reply(natsConnection*, natsSubscription*, natsMsg* message, void* self) {
    static_cast<nats_publisher_side*>(self)->answered_ = true;
    natsMsg_Destroy(message);
  }

  nats_connection connection_;
  const options& opt_;
  natsSubscription* replies_ = nullptr;
  std::atomic<bool> answered_{false};
};

} // namespace

int run_nats_sub(const options& opt) {
  nats_connection connection{opt.address};
  natsSubscription* subscription = nullptr;
  check(natsConnection_SubscribeSync(&subscription, connection.get(), data_subject), "subscribe");
  check(natsSubscription_SetPendingLimits(subscription, -1, -1), "lift pending limits");
  check(natsConnection_FlushTimeout(connection.get(), flush_timeout_ms), "flush");
  receive_log log{opt};
  std::printf("ready\n");
  std::fflush(stdout);
  std::string reply;
  while (!log.finished()) {
    natsMsg* message = nullptr;
    auto status = natsSubscription_NextMsg(&message, subscription, receive_poll_ms);
    if (status == NATS_OK) {
      auto header = log.record({natsMsg_GetData(message),
                                static_cast<std::size_t>(natsMsg_GetDataLength(message))});
      natsMsg_Destroy(message);
      if (header && header->kind == message_kind::probe) {
        encode_message({message_kind::reply, header->seq, clock_ns(), 0}, opt.payload_bytes, reply);
        connection.publish(reply_subject, reply);
      }
    } else if (status != NATS_TIMEOUT && status != NATS_SLOW_CONSUMER) {
      log.fail(std::string("nats: next message: ") + natsStatus_GetText(status));
    }
  }
  natsSubscription_Destroy(subscription);
  return log.report();
}

int run_nats_pub(const options& opt) {
  nats_publisher_side side{opt};
  return run_send_schedule(side, opt);
}

} // namespace cluster_bench
