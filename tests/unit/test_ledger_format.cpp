// The ledger's format 2 (storage/ledger_store.cpp): an adopted chain is
// stored as runs of consecutive blocks; a fork inside a run cuts it; a
// damaged run is refused by name; a format 1 ledger is rewritten when
// opened. Over real SQLite files in a temporary directory.

#include <catch2/catch.hpp>

#include <filesystem>

#include <sqlite3.h>

#include "actors/chain_store.hpp"
#include "storage/ledger_store.hpp"
#include "query_int.hpp"
#include "temp_dir.hpp"


namespace {

struct temp_dir : test::temp_dir {
  temp_dir() : test::temp_dir("format") {}
  std::string db() const { return path + "/ledger.sqlite"; }
};

dlt::chain make_chain(std::size_t n, const char* tag = "ours",
                      dlt::chain c = {}) {
  if (c.empty())
    c.push_back(dlt::make_genesis(1.0));
  while (c.size() < n)
    c.push_back(dlt::seal_block(c.size() + 1, c.back().hash, 1.0 + c.size(),
                                {dlt::transaction_json(tag)}));
  return c;
}

/// Runs `sql` on the file as another program would (the sqlite3 shell).
void edit(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(db_path.c_str(), &db) == SQLITE_OK);
  char* err = nullptr;
  auto rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  INFO(sql << ": " << (err ? err : ""));
  sqlite3_free(err);
  sqlite3_close(db);
  REQUIRE(rc == SQLITE_OK);
}

using test::query_int;

/// The chain as the chain actor holds it (segments of ~64 KiB).
std::unique_ptr<dlt::chain_store> hold(const dlt::chain& c) {
  auto held = std::make_unique<dlt::chain_store>();
  held->push(c[0]);
  held->append(dlt::chain(c.begin() + 1, c.end()));
  return held;
}

/// Reopened, the ledger in `dir` holds exactly `chain`, byte for byte.
void check_holds(const std::string& dir, const dlt::chain& chain) {
  auto store = dlt::ledger_store::open(dir);
  REQUIRE(store);
  auto loaded = (*store)->load();
  INFO((loaded ? "" : loaded.error()));
  REQUIRE(loaded);
  REQUIRE(loaded->blocks.size() == chain.size());
  for (std::size_t i = 0; i < chain.size(); ++i)
    if (loaded->blocks[i].json != chain[i].json
        || loaded->blocks[i].hash != chain[i].hash)
      FAIL("block " << i + 1 << " differs");
}

/// A ledger in `dir` holding `c` as the node stores an adopted chain.
void store_runs(const std::string& dir, const dlt::chain& c) {
  auto held = hold(c);
  auto store = dlt::ledger_store::open(dir);
  REQUIRE(store);
  REQUIRE((*store)->load());
  dlt::ledger_change all;
  all.runs = held->runs_from(1);
  REQUIRE_FALSE((*store)->apply({all}));
}

std::string load_error(const std::string& dir) {
  auto store = dlt::ledger_store::open(dir);
  REQUIRE(store);
  auto loaded = (*store)->load();
  REQUIRE_FALSE(loaded);
  return loaded.error();
}

} // namespace

TEST_CASE("an adopted chain is stored as runs, and a fork inside a run cuts it") {
  auto ours = make_chain(3000);
  auto runs = hold(ours)->runs_from(1);
  REQUIRE(runs.size() > 3);
  auto second = runs[1].first + runs[1].from; // the first block of run 2
  // Forks (the last block both chains keep) at a run's end, at its first
  // block, inside it, and just before the tip.
  for (std::uint64_t fork : {second - 1, second, second + 7,
                             std::uint64_t{2999}, std::uint64_t{1}}) {
    DYNAMIC_SECTION("fork after block " << fork) {
      temp_dir dir;
      store_runs(dir.path, ours);
      auto rows = query_int(dir.db(), "SELECT count(*) FROM block_runs");
      CHECK(rows == static_cast<std::int64_t>(runs.size()));
      auto theirs = make_chain(3100, "theirs",
                               dlt::chain(ours.begin(), ours.begin() + fork));
      {
        auto store = dlt::ledger_store::open(dir.path);
        REQUIRE(store);
        REQUIRE((*store)->load());
        dlt::ledger_change replace;
        replace.truncate_from = fork + 1;
        for (auto i = fork; i < theirs.size(); ++i)
          replace.blocks.push_back(
            dlt::row_of(std::make_shared<const dlt::block>(theirs[i])));
        REQUIRE_FALSE((*store)->apply({replace}));
      }
      check_holds(dir.path, theirs);
      // The cut run still holds its first blocks: nothing was rewritten
      // block by block.
      CHECK(query_int(dir.db(), "SELECT count FROM block_runs WHERE first = 1")
            == static_cast<std::int64_t>(std::min<std::uint64_t>(
              fork, runs[0].to - runs[0].from)));
    }
  }
}

TEST_CASE("a damaged run is refused by name") {
  auto ours = make_chain(3000);
  auto runs = hold(ours)->runs_from(1);
  auto second = std::to_string(runs[1].first + runs[1].from);
  struct damage {
    std::string sql;
    std::string says;
  } cases[] = {
    {"UPDATE block_runs SET count = count + 1 WHERE first = " + second,
     "the run from block " + second + " says it holds"},
    {"UPDATE block_runs SET hashes = substr(hashes, 1, 64) WHERE first = " + second,
     "bytes of hashes"},
    {"UPDATE block_runs SET count = count - 1, hashes = substr(hashes, 1, "
     "length(hashes) - 32) WHERE first = " + second,
     "holds"},
    {"UPDATE block_runs SET json = replace(json, '}, {', '},{') WHERE first = "
       + second,
     "block " + std::to_string(runs[1].first + runs[1].from + 1)
       + ": its bytes are not in canonical form"},
    {"DELETE FROM block_runs WHERE first = " + second,
     "block " + second + " is missing"},
    {"INSERT INTO block_runs SELECT first + 1, count, hashes, json FROM "
     "block_runs WHERE first = " + second,
     "is stored twice"},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.sql) {
      temp_dir dir;
      store_runs(dir.path, ours);
      edit(dir.db(), c.sql);
      CHECK_THAT(load_error(dir.path), Catch::Contains(c.says));
    }
  }
}

TEST_CASE("a run whose stored hash of one block is wrong is refused at that block") {
  auto ours = make_chain(3000);
  auto runs = hold(ours)->runs_from(1);
  auto second = runs[1].first + runs[1].from;
  temp_dir dir;
  store_runs(dir.path, ours);
  {
    // One bit of the fourth hash of the second run.
    sqlite3* db = nullptr;
    sqlite3_stmt* st = nullptr;
    REQUIRE(sqlite3_open(dir.db().c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_prepare_v2(db, "SELECT hashes FROM block_runs WHERE first = ?1",
                               -1, &st, nullptr) == SQLITE_OK);
    sqlite3_bind_int64(st, 1, static_cast<std::int64_t>(second));
    REQUIRE(sqlite3_step(st) == SQLITE_ROW);
    std::string hashes(static_cast<const char*>(sqlite3_column_blob(st, 0)),
                       static_cast<std::size_t>(sqlite3_column_bytes(st, 0)));
    sqlite3_finalize(st);
    hashes[3 * 32 + 5] ^= 1;
    REQUIRE(sqlite3_prepare_v2(db, "UPDATE block_runs SET hashes = ?2 WHERE first = ?1",
                               -1, &st, nullptr) == SQLITE_OK);
    sqlite3_bind_int64(st, 1, static_cast<std::int64_t>(second));
    sqlite3_bind_blob(st, 2, hashes.data(), static_cast<int>(hashes.size()),
                      SQLITE_TRANSIENT);
    CHECK(sqlite3_step(st) == SQLITE_DONE);
    sqlite3_finalize(st);
    sqlite3_close(db);
  }
  CHECK_THAT(load_error(dir.path),
             Catch::Contains("block " + std::to_string(second + 3)
                             + ": its stored hash is not the hash of its bytes"));
}

namespace {

/// A ledger as a format 1 node left it: a row per block, hashes as hex.
void write_format_1(const std::string& db, const dlt::chain& c) {
  std::string sql =
    "CREATE TABLE blocks (idx INTEGER PRIMARY KEY, hash TEXT NOT NULL,"
    " json TEXT NOT NULL);"
    "CREATE TABLE own_blocks (hash TEXT PRIMARY KEY) WITHOUT ROWID;"
    "CREATE TABLE pending (seq INTEGER PRIMARY KEY, json TEXT NOT NULL);"
    "CREATE TABLE peers (pos INTEGER PRIMARY KEY, address TEXT NOT NULL UNIQUE);"
    "PRAGMA user_version=1; BEGIN;";
  auto quoted = [](const std::string& s) {
    std::string out = "'";
    for (char ch : s)
      out += ch == '\'' ? std::string{"''"} : std::string{ch};
    return out + "'";
  };
  for (const auto& b : c)
    sql += "INSERT INTO blocks VALUES(" + std::to_string(b.index) + ","
           + quoted(b.hash) + "," + quoted(b.json) + ");";
  sql += "INSERT INTO pending VALUES(-1, '{\"data\": \"requeued\"}');"
         "INSERT INTO peers(address) VALUES('127.0.0.1:5001');"
         "INSERT INTO own_blocks VALUES(" + quoted(c.back().hash) + ");COMMIT;";
  edit(db, sql);
}

} // namespace

TEST_CASE("a format 1 ledger is rewritten as format 2 when opened, and kept whole") {
  temp_dir dir;
  auto ours = make_chain(2000);
  write_format_1(dir.db(), ours);
  {
    auto store = dlt::ledger_store::open(dir.path);
    REQUIRE(store);
    auto loaded = (*store)->load();
    REQUIRE(loaded);
    CHECK(loaded->pending.size() == 1);
    CHECK(loaded->peers == std::vector<std::string>{"127.0.0.1:5001"});
    CHECK(loaded->own == std::vector<std::string>{ours.back().hash});
    // It goes on as a format 2 ledger.
    auto longer = make_chain(2001, "more", ours);
    dlt::ledger_change next;
    next.blocks.push_back(
      dlt::row_of(std::make_shared<const dlt::block>(longer.back())));
    REQUIRE_FALSE((*store)->apply({next}));
    ours = longer;
  }
  check_holds(dir.path, ours);
  CHECK(query_int(dir.db(), "PRAGMA user_version") == 2);
  CHECK(query_int(dir.db(), "SELECT count(*) FROM sqlite_schema WHERE name = 'blocks'") == 0);
  // Consecutive blocks were joined into runs of ~64 KiB.
  auto rows = query_int(dir.db(), "SELECT count(*) FROM block_runs");
  CHECK(rows > 2);
  CHECK(rows < 20);
}

TEST_CASE("a damaged format 1 ledger is refused and left as it was") {
  auto ours = make_chain(50);
  SECTION("a hash that is not one") {
    temp_dir dir;
    write_format_1(dir.db(), ours);
    edit(dir.db(), "UPDATE blocks SET hash = 'nope' WHERE idx = 7");
    CHECK_THAT(load_error(dir.path),
               Catch::Contains("damaged: block 7: its stored hash is not a hash"));
    CHECK(query_int(dir.db(), "PRAGMA user_version") == 1);
    CHECK(query_int(dir.db(), "SELECT count(*) FROM blocks") == 50);
  }
  SECTION("a missing block stays missing") {
    temp_dir dir;
    write_format_1(dir.db(), ours);
    edit(dir.db(), "DELETE FROM blocks WHERE idx = 7");
    CHECK_THAT(load_error(dir.path), Catch::Contains("block 7 is missing"));
  }
  SECTION("a changed block's bytes") {
    temp_dir dir;
    write_format_1(dir.db(), ours);
    edit(dir.db(), "UPDATE blocks SET json = replace(json, '\"ours\"', '\"evil\"')"
                   " WHERE idx = 9");
    CHECK_THAT(load_error(dir.path),
               Catch::Contains("block 9: its stored hash is not the hash of its bytes"));
  }
}
