// --store parsing (store/store_location.cpp): empty is SQLite in the data
// directory, postgres:// and postgresql:// select PostgreSQL, anything else
// is refused; passwords never show in descriptions or errors.
#include "store/store_location.hpp"

#include <evmesh/error.hpp>

#include <gtest/gtest.h>

namespace {

using evmesh::parse_store_location;
using evmesh::redact_password;
using backend = evmesh::store_location::backend;

TEST(store_location, empty_is_sqlite_in_the_data_directory) {
  auto where = parse_store_location("", "/var/lib/evmesh", "n1");
  EXPECT_EQ(where.kind, backend::sqlite);
  EXPECT_EQ(where.describe(), "sqlite /var/lib/evmesh/evmesh.db");
}

TEST(store_location, postgres_urls_select_postgres) {
  for (const char* url : {"postgres://h/db", "postgresql://u@h:5433/db?sslmode=require"}) {
    auto where = parse_store_location(url, "/d", "n1");
    EXPECT_EQ(where.kind, backend::postgres) << url;
    EXPECT_EQ(where.url, url);
    EXPECT_EQ(where.describe(), url);
  }
}

TEST(store_location, passwords_are_redacted) {
  EXPECT_EQ(redact_password("postgresql://evmesh:p%40ss@db.example:5432/mesh"),
            "postgresql://evmesh:***@db.example:5432/mesh");
  EXPECT_EQ(redact_password("postgres://u:pw@h/db?password=other&sslmode=disable"),
            "postgres://u:***@h/db?password=***&sslmode=disable");
  EXPECT_EQ(redact_password("postgres://u@h/db"), "postgres://u@h/db");
  auto where = parse_store_location("postgres://u:hunter2@h/db", "/d", "n1");
  EXPECT_EQ(where.describe().find("hunter2"), std::string::npos);
}

TEST(store_location, other_schemes_are_refused_without_the_password) {
  try {
    parse_store_location("mysql://u:hunter2@h/db", "/d", "n1");
    FAIL() << "expected evmesh::error";
  } catch (const evmesh::error& e) {
    EXPECT_EQ(e.code(), evmesh::errc::malformed);
    EXPECT_EQ(std::string(e.what()).find("hunter2"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("postgres://"), std::string::npos) << e.what();
  }
}

} // namespace
