// The delivery actor on its own: spawned directly with a real SQLite store
// (writer and reader actors), the real webhook client pool, an HTTP receiver
// on 127.0.0.1 in this process and a hand-moved clock (delivery_clock), so a
// retry schedule of minutes runs in milliseconds and every time the actor
// reads is known. What an endpoint owner relies on: a failed attempt is
// retried when the schedule says (not before), with the same webhook-id and
// body and a valid Standard Webhooks signature each time; Retry-After
// decides the next attempt; after the last attempt the event is failed for
// good; a 410 asks for the endpoint to be disabled and stops retrying.
#include "support/actor_harness.hpp"

#include "actors/delivery.hpp"
#include "base/webhook_signature.hpp"
#include "model/endpoint.hpp"
#include "transports/webhook_client.hpp"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

namespace evmesh {
namespace {

using test::local_receiver;
using test::reply_timeout;

constexpr int64_t second_us = 1000000;
constexpr int64_t t0 = int64_t{1900000000} * second_us;  // where the test clock starts

struct DeliveryActor : ::testing::Test {
  test::actor_test_dir dir;
  store_probe stored;
  webhook_probe probe;
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys = std::make_unique<caf::actor_system>(test::node_like(cfg));
  test::sqlite_actors store{*sys, dir.path(), stored};
  std::unique_ptr<caf::scoped_actor> manager = std::make_unique<caf::scoped_actor>(*sys);  // hears disables
  std::unique_ptr<caf::scoped_actor> self = std::make_unique<caf::scoped_actor>(*sys);
  std::shared_ptr<test::manual_clock> clock = std::make_shared<test::manual_clock>(t0);
  std::shared_ptr<webhook::client_pool> client = make_client();
  std::unique_ptr<local_receiver> receiver;
  delivery_actor delivery;
  endpoint_config ep;
  std::string secret;
  event sent;  // the one matching event in the log

  static std::shared_ptr<webhook::client_pool> make_client() {
    webhook::client_options options;
    options.allow_private_targets = true;  // the receiver is on 127.0.0.1
    return std::make_shared<webhook::client_pool>(options);
  }

  // Stores one event the endpoint does not want and one it wants, then
  // spawns its delivery actor (cursor at the log's start, as the controller
  // creates it before any event).
  void start(std::vector<local_receiver::answer> script, std::vector<double> schedule) {
    receiver = std::make_unique<local_receiver>(std::move(script));
    ep.id = make_endpoint_id();
    ep.url = receiver->url();
    ep.topics = {"orders.>"};
    secret = make_webhook_secret();
    ep.secrets = {endpoint_secret{secret, 0}};
    bool opened = false;
    (*self)->request(store.writer, reply_timeout, dl_open_atom::value, ep.id)
      .receive([&](const delivery_snapshot& snap) { opened = snap.error.empty(); }, [](caf::error&) {});
    ASSERT_TRUE(opened);
    auto stored = test::append_through(*self, store.writer,
                                       {test::draft("payments.settled"), test::draft("orders.created", "{\"n\":1}")});
    ASSERT_EQ(stored.error, "");
    sent = stored.events[1];
    delivery_setup setup;
    setup.endpoint = ep;
    setup.writer = store.writer;
    setup.reader = store.reader;
    setup.manager = caf::actor_cast<endpoint_disabler_actor>(caf::actor{*manager});
    setup.client = client;
    setup.retry_schedule = std::move(schedule);
    setup.request_timeout = std::chrono::seconds{5};
    setup.probe = &probe;
    setup.clock = clock;
    delivery = spawn_delivery(*sys, std::move(setup));
  }

  // One flush round: what the actor reports since the last one. Its answer
  // also means every message sent to it before was handled.
  endpoint_progress tick() {
    endpoint_progress out;
    out.endpoint_id = "(no answer)";
    (*self)->request(delivery, reply_timeout, tick_atom::value, uint64_t{0})
      .receive([&](endpoint_progress& p) { out = std::move(p); },
               [&](caf::error& err) { ADD_FAILURE() << "tick: " << caf::to_string(err); });
    return out;
  }

  // Ticks until a row in `state` is reported (the answer to the last attempt
  // was handled); the rows reported on the way are kept in `rows`.
  std::optional<delivery_row> row_in_state(const std::string& state) {
    auto deadline = std::chrono::steady_clock::now() + reply_timeout;
    for (int round = 0; round < 100000 && std::chrono::steady_clock::now() < deadline; ++round) {
      auto p = tick();
      for (auto& row : p.rows) {
        rows.push_back(row);
        if (row.state == state)
          return row;
      }
    }
    return std::nullopt;
  }

  // The request is the stored event, signed with the endpoint's secret for
  // the timestamp it carries, which is the test clock's `at_us`.
  void expect_signed_delivery(const local_receiver::request_seen& r, int64_t at_us) {
    EXPECT_EQ(r.target, "/hook");
    EXPECT_EQ(r.headers.at("webhook-id"), sent.id);
    auto timestamp = at_us / second_us;
    EXPECT_EQ(r.headers.at("webhook-timestamp"), std::to_string(timestamp));
    std::string error;
    auto key = webhook_secret_key(secret, error);
    ASSERT_TRUE(key) << error;
    EXPECT_EQ(r.headers.at("webhook-signature"), sign_webhook(*key, sent.id, timestamp, r.body));
    auto body = nlohmann::json::parse(r.body);
    EXPECT_EQ(body["id"], sent.id);
    EXPECT_EQ(body["type"], "orders.created");
    EXPECT_EQ(body["data"]["n"], 1);
  }

  ~DeliveryActor() override {
    client->stop();
    clock->clear();
    if (delivery)
      caf::anon_send_exit(delivery, caf::exit_reason::user_shutdown);
    delivery = nullptr;
    store.stop();
    self.reset();
    manager.reset();
    sys.reset();
    if (receiver)
      receiver->stop();
  }

  std::vector<delivery_row> rows;
};

TEST_F(DeliveryActor, RetriesAFailedAttemptWhenTheScheduleSaysWithTheSameSignedEvent) {
  start({{500, {}}}, {0, 60, 600});  // 500 first, then 200
  ASSERT_TRUE(receiver->wait_for(1)) << "the first attempt goes out at once";
  expect_signed_delivery(receiver->received()[0], t0);

  // The retry waits 60 s ± 20 % after the failure (the clock stood at t0).
  auto due = clock->wait_for_timer();
  ASSERT_TRUE(due) << "a failed attempt schedules its retry";
  EXPECT_GE(*due, t0 + 48 * second_us);
  EXPECT_LE(*due, t0 + 72 * second_us);
  auto retrying = row_in_state(delivery_state::retrying);
  ASSERT_TRUE(retrying);
  EXPECT_EQ(retrying->attempts, 1u);
  EXPECT_EQ(retrying->last_status, 500);
  EXPECT_EQ(retrying->next_attempt_us, *due);

  // Just before it is due nothing is sent.
  clock->advance_to(*due - 1);
  tick();
  EXPECT_EQ(probe.attempts.load(), 1u);

  clock->advance_to(*due);
  ASSERT_TRUE(receiver->wait_for(2)) << "the retry goes out when due";
  auto got = receiver->received();
  expect_signed_delivery(got[1], *due);
  EXPECT_EQ(got[1].body, got[0].body) << "every attempt sends the same bytes";

  auto delivered = row_in_state(delivery_state::delivered);
  ASSERT_TRUE(delivered) << "a 2xx after a retry is recorded as delivered";
  EXPECT_EQ(delivered->attempts, 2u);
  EXPECT_EQ(delivered->event_id, sent.id);
  EXPECT_FALSE(clock->pending_timer()) << "nothing is left to retry";
  EXPECT_EQ(receiver->received().size(), 2u) << "the unmatched event was never sent";
  EXPECT_EQ(probe.delivered.load(), 1u);
}

TEST_F(DeliveryActor, RetryAfterDecidesWhenTheNextAttemptGoes) {
  start({{503, "120"}}, {0, 5, 600});
  ASSERT_TRUE(receiver->wait_for(1));
  auto due = clock->wait_for_timer();
  ASSERT_TRUE(due);
  EXPECT_EQ(*due, t0 + 120 * second_us) << "Retry-After: 120 replaces the schedule's 5 s";
  clock->advance_to(t0 + 100 * second_us);
  tick();
  EXPECT_EQ(probe.attempts.load(), 1u) << "no request before Retry-After passed";
  clock->advance_to(*due);
  ASSERT_TRUE(receiver->wait_for(2));
  expect_signed_delivery(receiver->received()[1], *due);
}

TEST_F(DeliveryActor, FailsTheEventForGoodAfterTheLastAttempt) {
  start({{500, {}}, {500, {}}, {500, {}}}, {0, 10});  // two attempts in all
  ASSERT_TRUE(receiver->wait_for(1));
  auto due = clock->wait_for_timer();
  ASSERT_TRUE(due);
  clock->advance_to(*due);
  ASSERT_TRUE(receiver->wait_for(2));
  auto failed = row_in_state(delivery_state::failed);
  ASSERT_TRUE(failed) << "retries exhausted: failed";
  EXPECT_EQ(failed->attempts, 2u);
  EXPECT_EQ(failed->last_status, 500);
  EXPECT_FALSE(clock->pending_timer()) << "no third attempt is scheduled";
  EXPECT_EQ(probe.failed_events.load(), 1u);
  EXPECT_EQ(receiver->received().size(), 2u);
}

TEST_F(DeliveryActor, GoneAsksForTheEndpointToBeDisabledAndStopsRetrying) {
  start({{410, {}}}, {0, 10, 600});
  ASSERT_TRUE(receiver->wait_for(1));
  std::string id, reason;
  (*manager)->receive([&](ep_disable_atom, const std::string& endpoint, const std::string& why) {
                        id = endpoint;
                        reason = why;
                      },
                      caf::after(reply_timeout) >> [] { ADD_FAILURE() << "no disable request"; });
  EXPECT_EQ(id, ep.id);
  EXPECT_NE(reason.find("410"), std::string::npos) << reason;
  tick();
  EXPECT_FALSE(clock->pending_timer()) << "a disabled endpoint gets no retry";
  EXPECT_EQ(probe.attempts.load(), 1u);
}

} // namespace
} // namespace evmesh
