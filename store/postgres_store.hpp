// Opening the PostgreSQL implementations of the store seam (store/store.hpp,
// store/delivery_store.hpp). Every store object owns one connection, so a
// node holds a fixed number of them (docs/STORAGE.md).
#pragma once

#include "store/delivery_store.hpp"
#include "store/lease_table.hpp"
#include "store/store.hpp"

#include <chrono>
#include <memory>
#include <string>

namespace evmesh {

struct postgres_location {
  std::string url;      // postgres://… as given (may carry a password)
  std::string display;  // the same with the password redacted, for messages
  std::string node;     // whose log: the node's name
};

// Connects (creating or migrating the schema when writable). Throws
// std::runtime_error when the server cannot be reached or its schema is
// newer than this build knows.
std::unique_ptr<store> open_postgres_store(const postgres_location& where, store_access access);
std::unique_ptr<delivery_store> open_postgres_delivery_store(const postgres_location& where);
// `lease`: how long a claim lasts unrenewed.
std::unique_ptr<lease_table> open_postgres_leases(const postgres_location& where, std::chrono::milliseconds lease);

} // namespace evmesh
