// The controller actor on its own, with the real store writer (SQLite in a
// temp dir), router and publisher, and a scoped actor standing in for the
// delivery manager: a new token is answered once stored and handed to the
// edge as a new auth table; endpoint create/list/get/patch/delete answer the
// right status (201/200/204, 400 for a bad body or a private target, 404 for
// an unknown id), are durable, and each change reaches the delivery manager;
// sources answer 201/409/204/404 and reach the ingest edge's table; a
// subscription made here delivers published events, ends on unsubscribe, and
// one the router drops for overflow is told why and forgotten.
#include "support/actor_harness.hpp"

#include "actors/controller.hpp"
#include "actors/publisher.hpp"
#include "actors/router.hpp"
#include "model/source.hpp"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

namespace evmesh {
namespace {

using test::reply_timeout;

// The latest value a sink was called with, and a wait for the next change.
template <class T>
struct latest {
  std::mutex mutex;
  std::condition_variable changed;
  T value;
  int calls = 0;
  void set(T v) {
    std::lock_guard lock{mutex};
    value = std::move(v);
    ++calls;
    changed.notify_all();
  }
  T get() {
    std::lock_guard lock{mutex};
    return value;
  }
};

// Events a subscription's callback got, and its close reason.
struct inbox {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::string> topics;
  std::string closed;
  subscriber_target target() {
    subscriber_target t;
    t.on_event = [this](const event& e) {
      std::lock_guard lock{mutex};
      topics.push_back(e.topic);
      changed.notify_all();
    };
    t.on_close = [this](const std::string& reason) {
      std::lock_guard lock{mutex};
      closed = reason;
      changed.notify_all();
    };
    return t;
  }
  bool wait(const std::function<bool()>& done) {
    std::unique_lock lock{mutex};
    return changed.wait_for(lock, reply_timeout, done);
  }
};

struct ControllerActor : ::testing::Test {
  test::actor_test_dir dir;
  store_probe store_counts;
  routing_probe routing;
  webhook_probe webhooks;
  latest<auth_table_ptr> auth;
  latest<source_table_ptr> sources;
  inbox first, second;
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys = std::make_unique<caf::actor_system>(test::node_like(cfg));
  test::sqlite_actors store{*sys, dir.path(), store_counts};
  router_actor router = spawn_router(*sys, routing);
  publisher_actor publisher = spawn_publisher(*sys, store.writer, router, 4096, store_counts);
  std::unique_ptr<caf::scoped_actor> manager = std::make_unique<caf::scoped_actor>(*sys);  // the delivery manager
  std::unique_ptr<caf::scoped_actor> self = std::make_unique<caf::scoped_actor>(*sys);
  controller_actor controller = start();

  controller_actor start() {
    controller_setup setup;
    setup.writer = store.writer;
    setup.router = router;
    setup.tokens = make_auth_table({}, token_hash("admin-token"));
    setup.publish_auth = [this](auth_table_ptr t) { auth.set(std::move(t)); };
    setup.routing = &routing;
    setup.webhooks = &webhooks;
    setup.publisher = publisher;
    setup.delivery_manager = caf::actor{*manager};
    setup.publish_sources = [this](source_table_ptr t) { sources.set(std::move(t)); };
    return spawn_controller(*sys, std::move(setup));
  }

  ~ControllerActor() override {
    caf::anon_send_exit(controller, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(publisher, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(router, caf::exit_reason::user_shutdown);
    controller = nullptr;
    publisher = nullptr;
    router = nullptr;
    store.stop();
    manager.reset();
    self.reset();
    sys.reset();  // subscriber actors go with the system
  }

  template <class Reply, class... Ts>
  Reply ask(Ts&&... xs) {
    Reply out{};
    (*self)->request(controller, reply_timeout, std::forward<Ts>(xs)...)
      .receive([&](Reply& r) { out = std::move(r); },
               [&](caf::error& err) { ADD_FAILURE() << "controller: " << caf::to_string(err); });
    return out;
  }

  // The records of `kind` as the store has them now (a second connection).
  std::vector<registry_record> stored(const char* kind) {
    return open_sqlite_store(dir.path(), store_access::read_only)->load_records(kind);
  }

  // The next message the delivery manager gets: an update's endpoint id and
  // version, or a removal's id (version 0).
  std::pair<std::string, uint64_t> told_manager() {
    std::pair<std::string, uint64_t> out{"(nothing)", 0};
    (*manager)->receive([&](ep_update_atom, const endpoint_config& ep) { out = {ep.id, ep.version}; },
                        [&](ep_remove_atom, const std::string& id) { out = {id, 0}; },
                        caf::after(reply_timeout) >> [] {});
    return out;
  }

  void publish(const std::string& topic) {
    std::vector<event> batch{test::draft(topic)};
    caf::anon_send(publisher, publish_atom::value, std::move(batch), publish_callback{[](publish_reply) {}});
  }
};

TEST_F(ControllerActor, ANewTokenIsAnsweredOnceStoredAndReachesTheEdge) {
  auto token = ask<std::string>(token_atom::value, std::vector<std::string>{"publish:orders.>"});
  ASSERT_FALSE(token.empty());
  auto hash = token_hash(token);
  auto table = auth.get();
  ASSERT_TRUE(table) << "the edge got a new table";
  ASSERT_EQ(table->count(hash), 1u);
  ASSERT_EQ(table->at(hash).size(), 1u);
  EXPECT_EQ(table->at(hash)[0].what, scope::kind::publish);
  EXPECT_EQ(table->at(hash)[0].pattern, "orders.>");
  EXPECT_EQ(table->count(token_hash("admin-token")), 1u) << "the admin token stays";
  auto records = stored("token");
  ASSERT_EQ(records.size(), 1u) << "answered means stored";
  EXPECT_EQ(records[0].id, hash) << "only the hash is kept";
}

TEST_F(ControllerActor, EndpointsAreCreatedReadChangedAndDeletedDurably) {
  auto created = ask<endpoint_reply>(ep_create_atom::value,
                                     std::string(R"({"url":"https://example.com/hook","topics":["orders.>"]})"));
  ASSERT_EQ(created.status, 201) << created.error;
  auto id = created.record.id;
  EXPECT_EQ(id.rfind("ep_", 0), 0u) << id;
  EXPECT_EQ(created.record.topics, std::vector<std::string>{"orders.>"});
  ASSERT_FALSE(created.record.secrets.empty()) << "a signing secret is made";
  EXPECT_EQ(created.record.secrets[0].secret.rfind("whsec_", 0), 0u);
  EXPECT_EQ(told_manager(), std::make_pair(id, uint64_t{1}));
  ASSERT_EQ(stored("endpoint").size(), 1u);

  auto got = ask<endpoint_reply>(ep_get_atom::value, id);
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(got.record.url, "https://example.com/hook");
  auto listed = ask<std::vector<endpoint_config>>(ep_list_atom::value);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].id, id);

  auto patched = ask<endpoint_reply>(ep_patch_atom::value, id, std::string(R"({"topics":["payments.*"]})"));
  EXPECT_EQ(patched.status, 200) << patched.error;
  EXPECT_EQ(patched.record.topics, std::vector<std::string>{"payments.*"});
  EXPECT_EQ(patched.record.version, 2u);
  EXPECT_EQ(told_manager(), std::make_pair(id, uint64_t{2}));

  auto bad = ask<endpoint_reply>(ep_patch_atom::value, id, std::string("{not json"));
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.error.find("JSON"), std::string::npos) << bad.error;
  EXPECT_EQ(ask<endpoint_reply>(ep_get_atom::value, id).record.version, 2u) << "a refused patch changes nothing";

  auto removed = ask<endpoint_reply>(ep_delete_atom::value, id);
  EXPECT_EQ(removed.status, 204);
  EXPECT_EQ(told_manager(), std::make_pair(id, uint64_t{0}));
  EXPECT_EQ(ask<endpoint_reply>(ep_get_atom::value, id).status, 404);
  EXPECT_TRUE(ask<std::vector<endpoint_config>>(ep_list_atom::value).empty());
  auto records = stored("endpoint");
  ASSERT_EQ(records.size(), 1u);
  EXPECT_TRUE(records[0].deleted()) << "a delete is stored as a tombstone";
}

TEST_F(ControllerActor, BadEndpointCallsAreRefusedWithTheirStatus) {
  EXPECT_EQ(ask<endpoint_reply>(ep_create_atom::value, std::string("[1,")).status, 400);
  EXPECT_EQ(ask<endpoint_reply>(ep_create_atom::value, std::string(R"({"url":"https://example.com/hook"})")).status,
            400)
    << "topics are required";
  auto private_target = ask<endpoint_reply>(ep_create_atom::value,
                                            std::string(R"({"url":"http://127.0.0.1:9/hook","topics":[">"]})"));
  EXPECT_EQ(private_target.status, 400) << "private targets are refused unless allowed";
  EXPECT_EQ(ask<endpoint_reply>(ep_get_atom::value, std::string("ep_nope")).status, 404);
  EXPECT_EQ(ask<endpoint_reply>(ep_patch_atom::value, std::string("ep_nope"), std::string("{}")).status, 404);
  EXPECT_EQ(ask<endpoint_reply>(ep_delete_atom::value, std::string("ep_nope")).status, 404);
  EXPECT_TRUE(ask<std::vector<endpoint_config>>(ep_list_atom::value).empty());
  EXPECT_TRUE(stored("endpoint").empty()) << "nothing refused was stored";
}

TEST_F(ControllerActor, SourcesAnswerTheirStatusAndReachTheIngestEdge) {
  const std::string body = R"({"name":"partner","topic":"partner.events","verifier":{"type":"standard_webhooks"}})";
  auto created = ask<source_reply>(src_create_atom::value, body);
  ASSERT_EQ(created.status, 201) << created.error;
  EXPECT_EQ(sources.get()->count("partner"), 1u) << "the ingest edge knows it";
  EXPECT_EQ(ask<source_reply>(src_create_atom::value, body).status, 409) << "names are unique";
  EXPECT_EQ(ask<source_reply>(src_get_atom::value, std::string("partner")).status, 200);
  EXPECT_EQ(ask<source_reply>(src_delete_atom::value, std::string("partner")).status, 204);
  EXPECT_EQ(ask<source_reply>(src_get_atom::value, std::string("partner")).status, 404);
  EXPECT_EQ(sources.get()->count("partner"), 0u);
  EXPECT_TRUE(ask<std::vector<source_config>>(src_list_atom::value).empty());
}

TEST_F(ControllerActor, ASubscriptionDeliversUntilItIsEnded) {
  auto a = ask<subscriber_id>(subscribe_atom::value, std::string("orders.>"), first.target(), uint64_t{1000});
  auto b = ask<subscriber_id>(subscribe_atom::value, std::string("orders.>"), second.target(), uint64_t{1000});
  EXPECT_NE(a, b);
  EXPECT_EQ(routing.subscribers.load(), 2);
  publish("orders.one");
  publish("payments.x");
  ASSERT_TRUE(first.wait([&] { return !first.topics.empty(); }));
  caf::anon_send(controller, unsub_atom::value, a);
  ask<std::vector<endpoint_config>>(ep_list_atom::value);  // the unsubscribe was handled
  EXPECT_EQ(routing.subscribers.load(), 1);
  publish("orders.two");
  ASSERT_TRUE(second.wait([&] { return second.topics.size() == 2; }));
  EXPECT_EQ(second.topics, (std::vector<std::string>{"orders.one", "orders.two"}));
  std::lock_guard lock{first.mutex};
  EXPECT_EQ(first.topics, std::vector<std::string>{"orders.one"}) << "nothing after unsubscribe";
}

TEST_F(ControllerActor, ASubscriptionDroppedForOverflowIsToldWhyAndForgotten) {
  ask<subscriber_id>(subscribe_atom::value, std::string("orders.>"), first.target(), uint64_t{1});
  std::vector<event> two{test::draft("orders.a"), test::draft("orders.b")};  // one routed batch over the limit
  caf::anon_send(publisher, publish_atom::value, std::move(two), publish_callback{[](publish_reply) {}});
  ASSERT_TRUE(first.wait([&] { return !first.closed.empty(); })) << "on_close is called";
  EXPECT_NE(first.closed.find("queue limit of 1"), std::string::npos) << first.closed;
  // The subscriber ended; the controller hears of it (down message) and
  // forgets it. Asked until it has, within the deadline.
  auto deadline = std::chrono::steady_clock::now() + reply_timeout;
  for (int round = 0; round < 100000 && routing.subscribers.load() != 0 && std::chrono::steady_clock::now() < deadline;
       ++round)
    ask<std::vector<endpoint_config>>(ep_list_atom::value);
  EXPECT_EQ(routing.subscribers.load(), 0);
  std::lock_guard lock{first.mutex};
  EXPECT_TRUE(first.topics.empty());
}

} // namespace
} // namespace evmesh
