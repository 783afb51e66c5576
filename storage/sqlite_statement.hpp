#pragma once
// What the ledger's SQLite code shares (ledger_store.cpp, ledger_migrate.cpp):
// a prepared statement that finalizes itself, and a column's text read in
// place.

#include <string_view>

#include <sqlite3.h>

namespace dlt {

/// A prepared statement, finalized with its owner.
class statement {
public:
  statement() = default;
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;
  ~statement() { sqlite3_finalize(stmt_); }

  bool prepare(sqlite3* db, const char* sql) {
    return sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt_,
                              nullptr)
           == SQLITE_OK;
  }
  sqlite3_stmt* get() const { return stmt_; }

private:
  sqlite3_stmt* stmt_ = nullptr;
};

/// The text of a column, valid until the statement steps on.
inline std::string_view column_view(sqlite3_stmt* st, int col) {
  auto p = reinterpret_cast<const char*>(sqlite3_column_text(st, col));
  return p ? std::string_view(p, static_cast<std::size_t>(
                                   sqlite3_column_bytes(st, col)))
           : std::string_view{};
}

} // namespace dlt
