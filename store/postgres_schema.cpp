// See postgres_schema.hpp. Migrations are constant SQL, applied in order in
// one transaction per open: migrations[i] takes the schema from version i to
// version i + 1.
#include "store/detail/postgres_schema.hpp"

#include <libpq-fe.h>

#include <array>

namespace evmesh::pg {
namespace {

// Any constant the nodes agree on: the key of the migration lock.
constexpr const char* lock_key = "7164529301";

const std::array<const char*, schema_version> migrations = {
  R"sql(
CREATE TABLE evmesh_events(
  node       text    NOT NULL,
  seq        bigint  NOT NULL,
  id         text    NOT NULL,
  topic      text    NOT NULL,
  time_us    bigint  NOT NULL,
  is_binary  boolean NOT NULL,
  data       bytea   NOT NULL,
  headers    text,
  origin     text,
  origin_seq bigint,
  PRIMARY KEY(node, seq));
CREATE INDEX evmesh_events_by_time ON evmesh_events(node, time_us);
CREATE TABLE evmesh_event_ids(
  node    text   NOT NULL,
  id      text   NOT NULL,
  seq     bigint NOT NULL,
  time_us bigint NOT NULL,
  PRIMARY KEY(node, id));
CREATE TABLE evmesh_logs(
  node     text PRIMARY KEY,
  last_seq bigint NOT NULL);
CREATE TABLE evmesh_peer_cursors(
  node   text   NOT NULL,
  origin text   NOT NULL,
  seq    bigint NOT NULL,
  PRIMARY KEY(node, origin));
CREATE TABLE evmesh_registry(
  kind    text   NOT NULL,
  id      text   NOT NULL,
  body    text   NOT NULL,
  version bigint NOT NULL,
  PRIMARY KEY(kind, id));
CREATE TABLE evmesh_delivery_cursors(
  node             text   NOT NULL,
  endpoint_id      text   NOT NULL,
  start_seq        bigint NOT NULL,
  cursor           bigint NOT NULL,
  last_success_us  bigint NOT NULL DEFAULT 0,
  failing_since_us bigint NOT NULL DEFAULT 0,
  PRIMARY KEY(node, endpoint_id));
CREATE TABLE evmesh_delivery_states(
  node            text    NOT NULL,
  endpoint_id     text    NOT NULL,
  seq             bigint  NOT NULL,
  event_id        text    NOT NULL,
  state           text    NOT NULL,
  attempts        integer NOT NULL,
  next_attempt_us bigint  NOT NULL,
  last_status     integer NOT NULL,
  last_error      text    NOT NULL,
  updated_us      bigint  NOT NULL,
  PRIMARY KEY(node, endpoint_id, seq));
CREATE INDEX evmesh_delivery_states_by_seq ON evmesh_delivery_states(node, seq);
CREATE TABLE evmesh_delivery_attempts(
  n           bigserial PRIMARY KEY,
  node        text    NOT NULL,
  endpoint_id text    NOT NULL,
  event_id    text    NOT NULL,
  seq         bigint  NOT NULL,
  attempt     integer NOT NULL,
  time_us     bigint  NOT NULL,
  status      integer NOT NULL,
  duration_us bigint  NOT NULL,
  error       text    NOT NULL,
  response    bytea   NOT NULL);
CREATE INDEX evmesh_delivery_attempts_by_endpoint ON evmesh_delivery_attempts(node, endpoint_id, n);
CREATE INDEX evmesh_delivery_attempts_by_seq ON evmesh_delivery_attempts(node, seq);
)sql",
  // 2: the shared delivery queue. An endpoint's delivery state is keyed by
  // the log it reads (the node column is now "whose log"); one node at a
  // time holds an endpoint's lease; a log's local events are read by index.
  R"sql(
CREATE TABLE evmesh_endpoint_leases(
  endpoint_id text        PRIMARY KEY,
  holder      text        NOT NULL,
  expires_at  timestamptz NOT NULL,
  fence       bigint      NOT NULL);
CREATE INDEX evmesh_events_local ON evmesh_events(node, seq) WHERE origin IS NULL;
CREATE INDEX evmesh_delivery_cursors_by_endpoint ON evmesh_delivery_cursors(endpoint_id);
CREATE INDEX evmesh_delivery_states_by_endpoint ON evmesh_delivery_states(endpoint_id, state);
CREATE INDEX evmesh_delivery_attempts_by_endpoint_n ON evmesh_delivery_attempts(endpoint_id, n);
)sql",
};

} // namespace

void ensure_schema(connection& db) {
  const std::string set_version_sql =
    "INSERT INTO evmesh_schema(version) VALUES(" + std::to_string(schema_version) +
    ") ON CONFLICT (singleton) DO UPDATE SET version = EXCLUDED.version";
  db.transaction([&] {
    db.exec((std::string("SELECT pg_advisory_xact_lock(") + lock_key + ")").c_str());
    db.exec("CREATE TABLE IF NOT EXISTS evmesh_schema("
            "  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),"
            "  version   integer NOT NULL)");
    auto found = db.query("SELECT version FROM evmesh_schema");
    int version = found.rows() == 0 ? 0 : static_cast<int>(found.integer(0, 0));
    if (version > schema_version)
      throw std::runtime_error("the PostgreSQL database at " + db.display() + " has evmesh schema version " +
                               std::to_string(version) + ", newer than this evmesh knows (" +
                               std::to_string(schema_version) + "); upgrade evmesh");
    for (int v = version; v < schema_version; ++v)
      db.exec(migrations[static_cast<std::size_t>(v)]);
    if (version < schema_version)
      db.exec(set_version_sql.c_str());
  });
}

} // namespace evmesh::pg
