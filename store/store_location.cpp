// See store_location.hpp.
#include "store/store_location.hpp"

#include "store/postgres_store.hpp"

#include <evmesh/error.hpp>

namespace evmesh {
namespace {

bool starts_with(const std::string& s, std::string_view prefix) { return s.rfind(prefix, 0) == 0; }

postgres_location postgres(const store_location& where) {
  return {where.url, where.describe(), where.node};
}

} // namespace

std::string redact_password(const std::string& url) {
  std::string out = url;
  auto scheme = out.find("://");
  if (scheme != std::string::npos) {
    auto start = scheme + 3;
    auto end = out.find_first_of("/?", start);
    auto at = out.rfind('@', end == std::string::npos ? std::string::npos : end);
    if (at != std::string::npos && at >= start) {
      auto colon = out.find(':', start);
      if (colon != std::string::npos && colon < at)
        out.replace(colon + 1, at - colon - 1, "***");
    }
  }
  for (std::size_t at = out.find("password="); at != std::string::npos; at = out.find("password=", at + 1)) {
    auto value = at + 9;
    auto end = out.find_first_of("& ", value);
    out.replace(value, (end == std::string::npos ? out.size() : end) - value, "***");
  }
  return out;
}

std::string store_location::describe() const {
  if (kind == backend::sqlite)
    return "sqlite " + (data_dir / "evmesh.db").string();
  return redact_password(url);
}

store_location parse_store_location(const std::string& url, const std::filesystem::path& data_dir,
                                    const std::string& node) {
  store_location where;
  where.data_dir = data_dir;
  where.node = node;
  if (url.empty())
    return where;
  if (!starts_with(url, "postgres://") && !starts_with(url, "postgresql://"))
    throw error(errc::malformed, "--store \"" + redact_password(url) +
                                   "\" is not a postgres:// or postgresql:// URL (leave it empty for SQLite)");
  where.kind = store_location::backend::postgres;
  where.url = url;
  return where;
}

std::unique_ptr<store> open_store(const store_location& where, store_access access) {
  if (where.kind == store_location::backend::postgres)
    return open_postgres_store(postgres(where), access);
  return open_sqlite_store(where.data_dir, access);
}

std::unique_ptr<delivery_store> open_delivery_store(const store_location& where) {
  if (where.kind == store_location::backend::postgres)
    return open_postgres_delivery_store(postgres(where));
  return open_sqlite_delivery_store(where.data_dir);
}

std::unique_ptr<lease_table> open_lease_table(const store_location& where, std::chrono::milliseconds lease) {
  if (where.kind == store_location::backend::postgres)
    return open_postgres_leases(postgres(where), lease);
  return nullptr;
}

} // namespace evmesh
