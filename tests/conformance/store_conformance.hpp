// The store conformance suites (store_conformance.cpp,
// delivery_store_conformance.cpp) and what a backend provides to run them: a
// way to make a fresh, empty place to keep a store, and to open its parts
// there. A test binary instantiates the suites for its backends with
// EVMESH_STORE_CONFORMANCE.
#pragma once

#include "store/delivery_store.hpp"
#include "store/store.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace evmesh::test {

// One empty place for a store (a directory, a database); opening it again
// reopens the same store.
class store_place {
public:
  virtual ~store_place() = default;
  virtual std::unique_ptr<store> open(store_access access) = 0;
  virtual std::unique_ptr<delivery_store> open_deliveries() = 0;
};

struct store_backend {
  std::string name;  // "sqlite", "postgres"
  std::function<std::unique_ptr<store_place>()> fresh;
};

inline void PrintTo(const store_backend& backend, std::ostream* out) { *out << backend.name; }

inline std::string backend_name(const ::testing::TestParamInfo<store_backend>& info) { return info.param.name; }

// An event published on this node / received from `origin` (at its seq
// origin_seq), stamped now, with {"n":1} as data.
event local(std::string id, std::string topic = "orders.created");
event remote(std::string id, std::string origin, uint64_t origin_seq, std::string topic = "orders.created");

// The seqs of events or of append outcomes, in order.
template <class Row>
std::vector<uint64_t> seqs_of(const std::vector<Row>& rows) {
  std::vector<uint64_t> out;
  for (const auto& r : rows)
    out.push_back(r.seq);
  return out;
}

struct local_page {
  std::vector<event> events;
  uint64_t scanned_to = 0;
  bool at_end = false;
};

class store_conformance : public ::testing::TestWithParam<store_backend> {
protected:
  void SetUp() override;
  std::unique_ptr<store> open(store_access access = store_access::read_write);
  std::unique_ptr<delivery_store> open_deliveries() { return place_->open_deliveries(); }
  append_outcome append_one(store& db, event e);
  std::vector<append_outcome> append_all(store& db, std::vector<event> batch);
  // Every retained event, oldest first.
  std::vector<event> all_events(store& db);
  local_page scan_local(store& db, uint64_t after, std::size_t limit = 1000, std::size_t max_scanned = 100000,
                        const std::function<bool(std::string_view)>& keep = {});

private:
  std::unique_ptr<store_place> place_;
};

// Seqs 1..10 stored; odd seqs on "a.x", even seqs on "b.x".
class store_scan_conformance : public store_conformance {
protected:
  void SetUp() override;
  std::unique_ptr<store> db;
};

class delivery_store_conformance : public store_conformance {};

} // namespace evmesh::test

#define EVMESH_STORE_CONFORMANCE(backend)                                                                     \
  INSTANTIATE_TEST_SUITE_P(store, store_conformance, ::testing::Values(backend), backend_name);               \
  INSTANTIATE_TEST_SUITE_P(store, store_scan_conformance, ::testing::Values(backend), backend_name);          \
  INSTANTIATE_TEST_SUITE_P(store, delivery_store_conformance, ::testing::Values(backend), backend_name)
