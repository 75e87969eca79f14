// The PostgreSQL schema evmesh keeps for itself: every node's event log,
// dedup ids, peer cursors and webhook delivery state in shared tables keyed
// by node name, and the registry shared by all (docs/STORAGE.md). evmesh
// creates and migrates it; evmesh_schema records the version.
#pragma once

#include "store/detail/postgres_connection.hpp"

namespace evmesh::pg {

// The schema version this build writes.
constexpr int schema_version = 2;

// Creates or migrates the schema to schema_version, serialised across nodes
// by an advisory lock. Throws std::runtime_error when the database's schema
// is newer than this build knows (naming both versions).
void ensure_schema(connection& db);

} // namespace evmesh::pg
