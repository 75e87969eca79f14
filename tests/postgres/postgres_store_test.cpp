// The PostgreSQL store (store/postgres_store.cpp) against a real server
// (tests/support/postgres_server.hpp): the store and delivery store
// conformance suites, each test on a fresh database; two nodes' logs side by
// side in one database; the schema version refusal; the shared delivery
// queue's reads across logs and its leases with their fences.
#include "conformance/store_conformance.hpp"
#include "store/postgres_store.hpp"
#include "store/store_location.hpp"
#include "support/postgres_server.hpp"

#include <libpq-fe.h>

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

namespace {

using evmesh::event;
using evmesh::store;
using evmesh::store_access;
using evmesh::test::postgres_server;

evmesh::postgres_location location(const std::string& url, const std::string& node = "n1") {
  return {url, evmesh::redact_password(url), node};
}

// A fresh database on the shared server.
class postgres_place final : public evmesh::test::store_place {
public:
  std::unique_ptr<store> open(store_access access) override {
    return evmesh::open_postgres_store(location(url_), access);
  }
  std::unique_ptr<evmesh::delivery_store> open_deliveries() override {
    return evmesh::open_postgres_delivery_store(location(url_));
  }

private:
  std::string url_ = postgres_server::shared().create_database();
};

using evmesh::test::backend_name;
using evmesh::test::delivery_store_conformance;
using evmesh::test::store_conformance;
using evmesh::test::store_scan_conformance;
EVMESH_STORE_CONFORMANCE((evmesh::test::store_backend{"postgres", [] { return std::make_unique<postgres_place>(); }}));

event make_event(const std::string& id) {
  event e;
  e.id = id;
  e.topic = "orders.created";
  e.time_us = evmesh::now_us();
  e.data = "{}";
  return e;
}

void run_sql(const std::string& url, const char* sql) {
  PGconn* conn = PQconnectdb(url.c_str());
  ASSERT_EQ(PQstatus(conn), CONNECTION_OK) << PQerrorMessage(conn);
  PGresult* r = PQexec(conn, sql);
  EXPECT_EQ(PQresultStatus(r), PGRES_COMMAND_OK) << PQresultErrorMessage(r);
  PQclear(r);
  PQfinish(conn);
}

TEST(postgres_store, nodes_keep_their_own_logs_in_one_database) {
  auto url = postgres_server::shared().create_database();
  auto a = evmesh::open_postgres_store(location(url, "a"), store_access::read_write);
  auto b = evmesh::open_postgres_store(location(url, "b"), store_access::read_write);
  std::vector<event> first{make_event("x"), make_event("y")};
  std::vector<event> second{make_event("x")};
  a->append(first);
  auto outcome = b->append(second);
  EXPECT_FALSE(outcome.at(0).duplicate);  // dedup is per node log, like the seqs
  EXPECT_EQ(outcome.at(0).seq, 1u);
  EXPECT_EQ(a->stats().events, 2u);
  EXPECT_EQ(b->stats().events, 1u);
  EXPECT_FALSE(b->find("y"));
  a->put_record({"token", "t1", "{}", 1});
  EXPECT_EQ(b->load_records("token").size(), 1u);  // the registry is shared
}

TEST(postgres_store, a_newer_schema_is_refused_with_a_clear_message) {
  auto url = postgres_server::shared().create_database();
  { evmesh::open_postgres_store(location(url), store_access::read_write); }
  run_sql(url, "UPDATE evmesh_schema SET version = 99");
  try {
    evmesh::open_postgres_store(location(url), store_access::read_write);
    FAIL() << "expected std::runtime_error";
  } catch (const std::runtime_error& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("schema version 99, newer than this evmesh knows"), std::string::npos) << what;
  }
}

TEST(postgres_store, an_unreachable_server_is_a_clear_error_without_the_password) {
  auto url = "postgresql://evmesh:s3cret@127.0.0.1:" + std::to_string(postgres_server::shared().port()) +
             "/no_such_database";
  try {
    evmesh::open_postgres_store(location(url), store_access::read_write);
    FAIL() << "expected std::runtime_error";
  } catch (const std::runtime_error& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("no_such_database"), std::string::npos) << what;
    EXPECT_EQ(what.find("s3cret"), std::string::npos) << what;
  }
}

} // namespace

namespace {

std::vector<uint64_t> scanned_seqs(store& db, const std::string& log, uint64_t after) {
  uint64_t scanned_to = 0;
  std::vector<uint64_t> out;
  for (const auto& e : db.scan_log(log, after, 100, [](std::string_view) { return true; }, 1000, scanned_to))
    out.push_back(e.seq);
  return out;
}

// The shared delivery queue's reads: an endpoint starts at the end of every
// node's log, a log is read as that node's local events only, and an event
// received from a peer is kept under its origin's log.
TEST(postgres_store, an_endpoint_reads_every_nodes_local_events) {
  auto url = postgres_server::shared().create_database();
  auto a = evmesh::open_postgres_store(location(url, "a"), store_access::read_write);
  auto b = evmesh::open_postgres_store(location(url, "b"), store_access::read_write);
  std::vector<event> on_a{make_event("a1"), make_event("a2"), make_event("a3")};
  a->append(on_a);
  auto copied = on_a[0];  // a's first event, received by b
  copied.origin = "a";
  copied.origin_seq = 1;
  std::vector<event> on_b{make_event("b1"), copied, make_event("b3")};
  b->append(on_b);

  auto deliveries = evmesh::open_postgres_delivery_store(location(url, "b"));
  auto cursors = deliveries->open_endpoint("ep", 3);
  ASSERT_EQ(cursors.size(), 2u);
  EXPECT_EQ(cursors[0].log, "a");
  EXPECT_EQ(cursors[0].cursor, 3u);
  EXPECT_EQ(cursors[1].log, "b");
  EXPECT_EQ(cursors[1].cursor, 3u);
  EXPECT_EQ(deliveries->home_of(on_b[1]), (std::pair<std::string, uint64_t>{"a", 1}));
  EXPECT_EQ(deliveries->home_of(on_b[2]), (std::pair<std::string, uint64_t>{"b", 3}));

  EXPECT_EQ(b->logs(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(scanned_seqs(*b, "a", 0), (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ(scanned_seqs(*a, "b", 0), (std::vector<uint64_t>{1, 3}));  // not the copy of a's event
  EXPECT_EQ(scanned_seqs(*a, "b", 1), (std::vector<uint64_t>{3}));
}

// Waits (bounded) until `round` holds the endpoint; how long it took.
template <class Round>
std::chrono::milliseconds until_held(Round round) {
  auto start = std::chrono::steady_clock::now();
  auto deadline = start + std::chrono::seconds{10};
  while (round().empty() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds{20});  // polling interval, not synchronisation
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
}

TEST(postgres_store, a_lease_has_one_holder_and_its_fence_refuses_a_former_holders_progress) {
  using namespace std::chrono_literals;
  auto url = postgres_server::shared().create_database();
  { evmesh::open_postgres_store(location(url, "a"), store_access::read_write); }  // the schema
  constexpr auto lease = 600ms;  // a claim runs 400 ms
  auto leases_a = evmesh::open_postgres_leases(location(url, "a"), lease);
  auto leases_b = evmesh::open_postgres_leases(location(url, "b"), lease);
  evmesh::lease_request claim{{"ep"}, {}, {}};
  evmesh::lease_request orphan{{}, {"ep"}, {}};

  EXPECT_TRUE(leases_b->round({{}, {"ep"}, {}}).empty());  // a new endpoint is nobody's orphan yet
  EXPECT_EQ(leases_a->round(claim), (std::map<std::string, uint64_t>{{"ep", 1}}));
  EXPECT_TRUE(leases_b->round(claim).empty());  // a holds it
  EXPECT_EQ(leases_a->round(claim), (std::map<std::string, uint64_t>{{"ep", 1}}));  // renewed, same fence

  // a stops renewing: b gets it once a's claim lapsed (two thirds of the
  // lease), with a new fence.
  auto waited = until_held([&] { return leases_b->round(claim); });
  EXPECT_GE(waited, 400ms - 100ms);  // not before (the database's clock, measured here)
  EXPECT_EQ(leases_b->round(claim), (std::map<std::string, uint64_t>{{"ep", 2}}));
  EXPECT_TRUE(leases_a->round(claim).empty());

  // a's progress under fence 1 is refused; b's under fence 2 is saved.
  auto deliveries_a = evmesh::open_postgres_delivery_store(location(url, "a"));
  auto deliveries_b = evmesh::open_postgres_delivery_store(location(url, "b"));
  evmesh::endpoint_progress stale;
  stale.endpoint_id = "ep";
  stale.fence = 1;
  stale.cursors["a"] = 50;
  deliveries_a->save({stale});
  EXPECT_TRUE(deliveries_a->cursors("a").empty());
  auto current = stale;
  current.fence = 2;
  current.cursors["a"] = 40;
  deliveries_b->save({current});
  ASSERT_EQ(deliveries_a->cursors("a").size(), 1u);
  EXPECT_EQ(deliveries_a->cursors("a")[0].cursor, 40u);

  // Released, another node takes it at once; an orphan claim waits a
  // whole lease longer than a plain one.
  EXPECT_TRUE(leases_b->round({{}, {}, {{"ep", 2}}}).empty());
  EXPECT_EQ(leases_a->round(claim), (std::map<std::string, uint64_t>{{"ep", 3}}));
  waited = until_held([&] { return leases_b->round(orphan); });
  EXPECT_GE(waited, 400ms + lease - 100ms);
  EXPECT_EQ(leases_b->round(claim), (std::map<std::string, uint64_t>{{"ep", 4}}));

  // A node that stops gives every lease up at once.
  evmesh::lease_request stopping;
  stopping.release_all = true;
  EXPECT_TRUE(leases_b->round(stopping).empty());
  EXPECT_EQ(leases_a->round(claim), (std::map<std::string, uint64_t>{{"ep", 5}}));
}

} // namespace
