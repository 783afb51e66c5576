#pragma once
// One integer read from a ledger file by a reader of its own, as a sqlite3
// shell beside the node would read it.

#include <cstdint>
#include <string>

#include <sqlite3.h>

namespace test {

/// The first column of the first row `sql` gives on the database at
/// `db_path`, opened read-only; -1 when it cannot be read.
inline std::int64_t query_int(const std::string& db_path,
                              const std::string& sql) {
  sqlite3* db = nullptr;
  sqlite3_stmt* st = nullptr;
  std::int64_t n = -1;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr)
        == SQLITE_OK
      && sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK
      && sqlite3_step(st) == SQLITE_ROW)
    n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n;
}

} // namespace test
