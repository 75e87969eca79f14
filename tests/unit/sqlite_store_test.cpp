// The SQLite event store (store/sqlite_store.cpp): the store and delivery
// store conformance suites (tests/conformance) on a fresh data directory,
// and what only SQLite has: the file, WAL beside a reader, directories
// created, open errors (a newer schema version is refused and the refused
// open closes the file).
#include "conformance/store_conformance.hpp"
#include "store/store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace fs = std::filesystem;
using evmesh::append_outcome;
using evmesh::event;
using evmesh::now_us;
using evmesh::open_sqlite_store;
using evmesh::store;
using evmesh::store_access;

constexpr int64_t hour_us = int64_t{3600} * 1000 * 1000;

// A fresh directory under the system temp dir, removed with everything in it.
class temp_dir {
public:
  temp_dir() {
    static std::atomic<int> counter{0};
    std::random_device random;
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::temp_directory_path() /
            ("evmesh-store-" + std::string(info ? info->name() : "x") + "-" +
             std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" +
             std::to_string(random()));
    fs::create_directories(path_);
  }
  ~temp_dir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const fs::path& path() const { return path_; }

private:
  fs::path path_;
};

event make_event(std::string id) {
  event e;
  e.id = std::move(id);
  e.topic = "orders.created";
  e.time_us = now_us();
  e.data = R"({"n":1})";
  return e;
}

append_outcome append_one(store& db, event e) {
  std::vector<event> batch{std::move(e)};
  auto outcomes = db.append(batch);
  return outcomes.empty() ? append_outcome{} : outcomes.front();
}

// A fresh data directory.
class sqlite_place final : public evmesh::test::store_place {
public:
  std::unique_ptr<store> open(store_access access) override { return open_sqlite_store(dir_.path(), access); }
  std::unique_ptr<evmesh::delivery_store> open_deliveries() override {
    return evmesh::open_sqlite_delivery_store(dir_.path());
  }

private:
  temp_dir dir_;
};

using evmesh::test::backend_name;
using evmesh::test::delivery_store_conformance;
using evmesh::test::store_conformance;
using evmesh::test::store_scan_conformance;
EVMESH_STORE_CONFORMANCE((evmesh::test::store_backend{"sqlite", [] { return std::make_unique<sqlite_place>(); }}));

class sqlite_store_test : public ::testing::Test {
protected:
  std::unique_ptr<store> open(store_access access = store_access::read_write) {
    return open_sqlite_store(dir_.path(), access);
  }
  const fs::path& dir() const { return dir_.path(); }
  fs::path db_file() const { return dir_.path() / "evmesh.db"; }

private:
  temp_dir dir_;
};

TEST_F(sqlite_store_test, a_reader_sees_the_writers_commits_through_the_wal) {
  auto writer = open(store_access::read_write);
  auto reader = open(store_access::read_only);
  append_one(*writer, make_event("a"));
  EXPECT_TRUE(reader->find("a"));
  EXPECT_TRUE(fs::exists(dir() / "evmesh.db-wal"));
}

// ---- open errors ----------------------------------------------------------

TEST_F(sqlite_store_test, uncreatable_directory_throws_naming_the_path) {
  auto blocker = dir() / "a-file";
  std::ofstream(blocker) << "not a directory";
  auto target = blocker / "data";
  try {
    open_sqlite_store(target, store_access::read_write);
    FAIL() << "expected std::runtime_error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(target.string()), std::string::npos) << e.what();
  }
}

TEST_F(sqlite_store_test, missing_directories_are_created) {
  auto nested = dir() / "data" / "node-1";
  {
    auto db = open_sqlite_store(nested, store_access::read_write);
    append_one(*db, make_event("a"));
  }
  EXPECT_TRUE(fs::is_regular_file(nested / "evmesh.db"));
  EXPECT_TRUE(open_sqlite_store(nested, store_access::read_write)->find("a"));
}

// The store holds endpoint and source secrets: private to the node's user.
TEST_F(sqlite_store_test, the_data_directory_and_the_database_files_are_private) {
  const auto mode = [](const fs::path& p) { return fs::status(p).permissions() & fs::perms::all; };
  const auto file_mode = fs::perms::owner_read | fs::perms::owner_write;
  auto fresh = dir() / "fresh";
  {
    auto db = open_sqlite_store(fresh, store_access::read_write);
    append_one(*db, make_event("a"));
    EXPECT_EQ(mode(fresh), fs::perms::owner_all);
    for (const char* name : {"evmesh.db", "evmesh.db-wal", "evmesh.db-shm"})
      EXPECT_EQ(mode(fresh / name), file_mode) << name;
  }
  // Left readable by an older version: tightened on the next open.
  fs::permissions(fresh, fs::perms::owner_all | fs::perms::group_read | fs::perms::others_read |
                             fs::perms::group_exec | fs::perms::others_exec);
  fs::permissions(fresh / "evmesh.db", file_mode | fs::perms::group_read | fs::perms::others_read);
  auto db = open_sqlite_store(fresh, store_access::read_write);
  EXPECT_TRUE(db->find("a"));
  EXPECT_EQ(mode(fresh), fs::perms::owner_all);
  EXPECT_EQ(mode(fresh / "evmesh.db"), file_mode);
}

TEST_F(sqlite_store_test, current_schema_version_reopens) {
  { open(); }
  EXPECT_NO_THROW(open());
}

// Sets meta.schema_version in <dir>/evmesh.db with the sqlite3 C API.
void set_schema_version(const fs::path& file, const std::string& version) {
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(file.c_str(), &raw), SQLITE_OK);
  char* message = nullptr;
  int rc = sqlite3_exec(raw, ("UPDATE meta SET value = '" + version + "' WHERE key = 'schema_version'").c_str(),
                        nullptr, nullptr, &message);
  std::string reason = message ? message : "";
  sqlite3_free(message);
  int changed = sqlite3_changes(raw);
  sqlite3_close(raw);
  ASSERT_EQ(rc, SQLITE_OK) << reason;
  ASSERT_EQ(changed, 1);
}

// How many of this process's file descriptors are open on `file`.
std::size_t descriptors_open_on(const fs::path& file) {
  auto wanted = fs::canonical(file);
  std::size_t n = 0;
  for (const auto& entry : fs::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    auto target = fs::read_symlink(entry.path(), ec);
    if (!ec && target == wanted)
      ++n;
  }
  return n;
}

TEST_F(sqlite_store_test, newer_schema_version_is_refused) {
  {
    auto db = open();
    append_one(*db, make_event("a"));
  }
  set_schema_version(db_file(), "3");
  try {
    open();
    FAIL() << "expected std::runtime_error";
  } catch (const std::runtime_error& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("newer"), std::string::npos) << what;
    EXPECT_NE(what.find(db_file().string()), std::string::npos) << what;
  }
}

TEST_F(sqlite_store_test, refused_open_leaves_the_database_file_closed) {
  { open(); }
  set_schema_version(db_file(), "3");
  ASSERT_EQ(descriptors_open_on(db_file()), 0u);
  EXPECT_THROW(open(), std::runtime_error);
  EXPECT_EQ(descriptors_open_on(db_file()), 0u);
}

} // namespace
