// Where a node keeps its durable state: `--store` (empty: the embedded
// SQLite file in --data; postgres:// or postgresql://: a PostgreSQL server
// shared by the cluster). Opens the store parts a node needs from it, and
// says where they are without ever showing a password.
#pragma once

#include "store/delivery_store.hpp"
#include "store/lease_table.hpp"
#include "store/store.hpp"

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

namespace evmesh {

struct store_location {
  enum class backend { sqlite, postgres };
  backend kind = backend::sqlite;
  std::string url;                  // as configured (postgres only; may carry a password)
  std::filesystem::path data_dir;   // sqlite: holds evmesh.db
  std::string node;                 // postgres: whose log

  // "sqlite <dir>/evmesh.db" or the URL with its password redacted.
  std::string describe() const;
};

// Throws evmesh::error(malformed) on anything but empty, postgres:// or
// postgresql:// (the message redacts the password).
store_location parse_store_location(const std::string& url, const std::filesystem::path& data_dir,
                                    const std::string& node);

// The URL with the password of its user-info and any password= parameter
// replaced by "***".
std::string redact_password(const std::string& url);

std::unique_ptr<store> open_store(const store_location& where, store_access access);
std::unique_ptr<delivery_store> open_delivery_store(const store_location& where);
// The endpoint leases of a shared store; null for SQLite (each node
// delivers what it owns from its own log).
std::unique_ptr<lease_table> open_lease_table(const store_location& where, std::chrono::milliseconds lease);

} // namespace evmesh
