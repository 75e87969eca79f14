// See lease_table.hpp: the leases as rows of evmesh_endpoint_leases, timed
// by the database's clock (now()), so the nodes' clocks need not agree. A
// claim runs for two thirds of the lease: renewed every third, it lapses at
// most that long after its holder died, and the other nodes' next round (a
// third later) takes it, so a dead node's endpoints move within the lease. A
// claim locks the row with FOR UPDATE SKIP LOCKED: two nodes claiming at
// once never wait on each other, and exactly one gets it.
#include "store/postgres_store.hpp"

#include "store/lease_table.hpp"
#include "store/detail/postgres_connection.hpp"

namespace evmesh {
namespace {

using pg::params;

std::vector<pg::statement_text> statements() {
  return {
    // A new lease counts as just expired: the node rendezvous hashing
    // gives the endpoint to takes it at once, an orphan claim only after a
    // whole lease (so the endpoint does not start on one node and move).
    {"add", "INSERT INTO evmesh_endpoint_leases(endpoint_id, holder, expires_at, fence) "
            "VALUES($1, '', now(), 0) ON CONFLICT DO NOTHING"},
    // $1 endpoint, $2 this node, $3 how long the claim runs (ms), $4 how long
    // it must have been expired (ms).
    {"claim", "UPDATE evmesh_endpoint_leases l SET holder = $2, expires_at = now() + $3::bigint * interval '1 millisecond', "
              "fence = CASE WHEN l.holder = $2 THEN l.fence ELSE l.fence + 1 END "
              "WHERE l.endpoint_id = (SELECT endpoint_id FROM evmesh_endpoint_leases WHERE endpoint_id = $1 "
              "AND (holder = $2 OR expires_at < now() - $4::bigint * interval '1 millisecond') "
              "FOR UPDATE SKIP LOCKED) RETURNING l.fence"},
    {"release", "UPDATE evmesh_endpoint_leases SET expires_at = '-infinity' "
                "WHERE endpoint_id = $1 AND holder = $2 AND fence = $3::bigint"},
    {"release_all", "UPDATE evmesh_endpoint_leases SET expires_at = '-infinity' WHERE holder = $1"},
  };
}

class postgres_leases final : public lease_table {
public:
  postgres_leases(const postgres_location& where, std::chrono::milliseconds lease)
    : node_(where.node), lease_ms_(lease.count()), db_(where.url, where.display, statements()) {}

  // How long one claim runs in the database.
  int64_t claim_ms() const { return lease_ms_ * 2 / 3; }

  std::map<std::string, uint64_t> round(const lease_request& request) override {
    if (request.release_all)
      db_.run("release_all", params{}.text(node_));
    for (const auto& [id, fence] : request.release)
      db_.run("release", params{}.text(id).text(node_).integer(static_cast<int64_t>(fence)));
    std::map<std::string, uint64_t> held;
    auto claim = [&](const std::string& id, int64_t expired_for_ms) {
      db_.run("add", params{}.text(id));
      auto r = db_.run("claim", params{}.text(id).text(node_).integer(claim_ms()).integer(expired_for_ms));
      if (r.rows() == 1)
        held[id] = static_cast<uint64_t>(r.integer(0, 0));
    };
    for (const auto& id : request.claim)
      claim(id, 0);
    for (const auto& id : request.claim_orphans)
      claim(id, lease_ms_);
    return held;
  }

private:
  std::string node_;
  int64_t lease_ms_;
  pg::connection db_;
};

} // namespace

std::unique_ptr<lease_table> open_postgres_leases(const postgres_location& where, std::chrono::milliseconds lease) {
  return std::make_unique<postgres_leases>(where, lease);
}

} // namespace evmesh
