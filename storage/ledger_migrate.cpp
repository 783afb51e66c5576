#include "storage/ledger_migrate.hpp"

#include <cstdint>
#include <string>
#include <string_view>

#include <sqlite3.h>

#include "model/sha256.hpp"
#include "storage/sqlite_statement.hpp"

namespace dlt {
namespace {

/// A run closes once its text reaches this many bytes (a chain segment's
/// size, as a node of format 2 stores an adopted chain).
constexpr std::size_t run_bytes = 64 * 1024;

/// The statements of one migration, finalized however it ends.
struct migration {
  explicit migration(sqlite3* handle) : db(handle) {}
  sqlite3* db;
  statement read, write;
  std::string error() const { return sqlite3_errmsg(db); }
  bool exec(const char* sql) const {
    return sqlite3_exec(db, sql, nullptr, nullptr, nullptr) == SQLITE_OK;
  }
};

struct pending_run {
  std::int64_t first = 0;
  std::int64_t count = 0;
  std::string hashes;
  std::string json;
};

std::optional<std::string> copy_blocks(migration& m) {
  if (!m.read.prepare(m.db, "SELECT idx, hash, json FROM blocks ORDER BY idx")
      || !m.write.prepare(m.db, "INSERT INTO block_runs(first, count, hashes, json)"
                                " VALUES(?1, ?2, ?3, ?4)"))
    return m.error();
  auto read = m.read.get();
  auto write = m.write.get();
  pending_run r;
  auto flush = [&]() -> bool {
    if (r.count == 0)
      return true;
    sqlite3_bind_int64(write, 1, r.first);
    sqlite3_bind_int64(write, 2, r.count);
    sqlite3_bind_blob(write, 3, r.hashes.data(),
                      static_cast<int>(r.hashes.size()), SQLITE_STATIC);
    sqlite3_bind_text(write, 4, r.json.data(), static_cast<int>(r.json.size()),
                      SQLITE_STATIC);
    bool ok = sqlite3_step(write) == SQLITE_DONE;
    sqlite3_reset(write);
    r = pending_run{};
    return ok;
  };
  int rc;
  while ((rc = sqlite3_step(read)) == SQLITE_ROW) {
    auto idx = sqlite3_column_int64(read, 0);
    auto hash = digest_from_hex(column_view(read, 1));
    if (!hash)
      return "it is damaged: block " + std::to_string(idx)
             + ": its stored hash is not a hash";
    // A gap or a block out of place stays visible to load(): runs only
    // join consecutive blocks.
    if (r.count > 0
        && (idx != r.first + r.count || r.json.size() >= run_bytes))
      if (!flush())
        return m.error();
    if (r.count == 0)
      r.first = idx;
    else
      r.json += ", ";
    r.json += column_view(read, 2);
    r.hashes.append(reinterpret_cast<const char*>(hash->data()), hash->size());
    ++r.count;
  }
  if (rc != SQLITE_DONE || !flush())
    return m.error();
  return std::nullopt;
}

} // namespace

std::optional<std::string> migrate_format_1(sqlite3* db,
                                            const char* block_runs_sql) {
  migration m{db};
  if (!m.exec("BEGIN IMMEDIATE"))
    return "cannot rewrite it as ledger format 2: " + m.error();
  std::optional<std::string> why;
  if (!m.exec(block_runs_sql))
    why = m.error();
  else
    why = copy_blocks(m);
  if (!why && !(m.exec("DROP TABLE blocks") && m.exec("PRAGMA user_version=2")
                && m.exec("COMMIT")))
    why = m.error();
  if (why) {
    m.exec("ROLLBACK");
    return why->rfind("it is damaged", 0) == 0
             ? *why
             : "cannot rewrite it as ledger format 2: " + *why;
  }
  return std::nullopt;
}

} // namespace dlt
