// The PostgreSQL store (node/postgres_store.cpp) against a real server
// (tests/support/postgres_server.hpp): the store and delivery store
// conformance suites, each test on a fresh database; two nodes' logs side by
// side in one database; the schema version refusal.
#include "conformance/store_conformance.hpp"
#include "node/postgres_store.hpp"
#include "node/store_location.hpp"
#include "support/postgres_server.hpp"

#include <libpq-fe.h>

#include <gtest/gtest.h>

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
