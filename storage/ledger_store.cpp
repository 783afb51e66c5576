#include "storage/ledger_store.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include <sqlite3.h>

#include "model/json_blocks.hpp"
#include "model/sha256.hpp"
#include "model/peer_address.hpp"

namespace dlt {

namespace {

constexpr int schema_version = 1;

/// Blocks of an adopted chain go in by this many rows per INSERT: each run
/// of a statement opens a cursor and seeks the table's end once. Storing
/// 100,000 blocks (dlt-bench store_chain): 82-87 ms one row at a time,
/// 79 ms by 64, 72 ms by 256, 67-69 ms by 1,024.
constexpr std::size_t blocks_per_insert = 1024;

const std::string& insert_blocks_sql() {
  static const std::string sql = [] {
    std::string s = "INSERT INTO blocks(idx, hash, json) VALUES";
    for (std::size_t k = 0; k < blocks_per_insert; ++k)
      s += k ? ",(?,?,?)" : "(?,?,?)";
    return s;
  }();
  return sql;
}

constexpr const char* schema_sql = R"sql(
CREATE TABLE blocks (
  idx  INTEGER PRIMARY KEY,  -- the block's index: 1, 2, 3, ...
  hash TEXT NOT NULL,        -- SHA-256 of json, as peers link to it
  json TEXT NOT NULL         -- canonical bytes: json.dumps(block, sort_keys=True)
);
CREATE TABLE own_blocks (hash TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE pending (
  seq  INTEGER PRIMARY KEY,  -- queue order
  json TEXT NOT NULL         -- canonical {"data": ...}
);
CREATE TABLE peers (
  pos     INTEGER PRIMARY KEY,
  address TEXT NOT NULL UNIQUE
);
)sql";

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

std::string errmsg(sqlite3* db) {
  return sqlite3_errmsg(db);
}

bool is_hex_hash(const std::string& s) {
  if (s.size() != 64)
    return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return false;
  return true;
}

std::string column_text(sqlite3_stmt* st, int col) {
  auto p = reinterpret_cast<const char*>(sqlite3_column_text(st, col));
  return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(st, col)))
           : std::string{};
}

/// The text of a column, valid until the statement steps on.
std::string_view column_view(sqlite3_stmt* st, int col) {
  auto p = reinterpret_cast<const char*>(sqlite3_column_text(st, col));
  return p ? std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(st, col)))
           : std::string_view{};
}

/// Runs the query `sql` and calls `row` for every row; the first problem
/// `row` reports, or SQLite's, ends the scan and is returned.
template <class F>
std::optional<std::string> scan(sqlite3* db, const char* sql, F&& row) {
  statement st;
  if (!st.prepare(db, sql))
    return errmsg(db);
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW)
    if (auto problem = row(st.get()))
      return problem;
  if (rc != SQLITE_DONE)
    return errmsg(db);
  return std::nullopt;
}

} // namespace

block_row row_of(std::shared_ptr<const block> b) {
  block_row row;
  row.index = b->index;
  row.hash = digest_from_hex(b->hash).value_or(digest{});
  row.json = b->json;
  row.keep = std::move(b);
  return row;
}

std::size_t ledger_change::block_count() const {
  auto n = blocks.size();
  for (const auto& r : runs)
    n += r.to - r.from;
  return n;
}

bool ledger_change::empty() const {
  return truncate_from == 0 && blocks.empty() && runs.empty()
         && own_added.empty()
         && own_removed.empty() && txs_removed.empty() && txs_added.empty()
         && peers_added.empty() && peers_removed.empty();
}

void ledger_change::merge_pending(ledger_change&& other) {
  auto move_all = [](auto& to, auto& from) {
    to.insert(to.end(), std::make_move_iterator(from.begin()),
              std::make_move_iterator(from.end()));
  };
  move_all(txs_removed, other.txs_removed);
  move_all(txs_added, other.txs_added);
  move_all(peers_added, other.peers_added);
  move_all(peers_removed, other.peers_removed);
}

struct ledger_store::statements {
  statement begin, commit, rollback;
  statement insert_block, insert_blocks, truncate_blocks;
  statement insert_own, delete_own;
  statement insert_tx, delete_tx;
  statement insert_peer, delete_peer;
};

/// While a long chain is being stored (in one change or in staged parts),
/// has the kernel start writing the log to disk every ~1 MiB of blocks, so
/// the sync inside COMMIT finds little left to write. SQLite writes the log
/// as its page cache fills, but the kernel only started at the sync:
/// storing 100,000 blocks spent 14 ms in COMMIT, and spends 2.6 ms with
/// this (dlt-bench store_chain 64-66 -> 54-56 ms; every 0.2 MiB or 4.5 MiB
/// was slower).
/// Only a hint: durability still comes from SQLite's sync, so a log that
/// cannot be opened here costs time, not safety.
class ledger_store::log_writeback {
public:
  explicit log_writeback(const std::string& db_path)
    : fd_(::open((db_path + "-wal").c_str(), O_RDONLY | O_CLOEXEC)) {
  }
  ~log_writeback() {
    if (fd_ >= 0)
      ::close(fd_);
  }
  log_writeback(const log_writeback&) = delete;
  log_writeback& operator=(const log_writeback&) = delete;

  /// `bytes` more of blocks are stored.
  void stored(std::size_t bytes) {
    pending_ += bytes;
    if (pending_ < every_bytes || fd_ < 0)
      return;
    pending_ = 0;
    ::sync_file_range(fd_, 0, 0, SYNC_FILE_RANGE_WRITE);
  }

private:
  static constexpr std::size_t every_bytes = 1 << 20;
  int fd_;
  std::size_t pending_ = 0;
};

ledger_store::ledger_store(sqlite3* db, int lock_fd, std::string path)
  : db_(db), lock_fd_(lock_fd), path_(std::move(path)),
    stmts_(std::make_unique<statements>()) {
}

ledger_store::~ledger_store() {
  writeback_.reset();
  stmts_.reset(); // statements before the connection
  sqlite3_close(db_);
  if (lock_fd_ >= 0)
    close(lock_fd_); // releases the lock
}

std::optional<std::string> ledger_store::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) == SQLITE_OK)
    return std::nullopt;
  std::string why = err ? err : errmsg(db_);
  sqlite3_free(err);
  return why;
}

result<std::unique_ptr<ledger_store>>
ledger_store::open(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return failure{"cannot create the data directory " + dir + ": "
                   + ec.message()};
  // One node per data directory: two would interleave their chains. The
  // lock is the kernel's, so it goes away with the process, even on SIGKILL.
  auto lock_path = (fs::path{dir} / "LOCK").string();
  int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    return failure{"cannot open " + lock_path + ": " + std::strerror(errno)};
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    auto why = errno == EWOULDBLOCK
                 ? "another dlt-node is using the data directory " + dir
                     + " (it holds " + lock_path + ")"
                 : "cannot lock " + lock_path + ": " + std::strerror(errno);
    ::close(fd);
    return failure{why};
  }
  auto path = (fs::path{dir} / file_name).string();
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
                             | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  std::unique_ptr<ledger_store> store{new ledger_store(db, fd, path)};
  if (rc != SQLITE_OK)
    return failure{"cannot open " + path + ": " + errmsg(db)};
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, 5000); // a sqlite3 shell reading along
  // What is wrong with the file's content is reported by load(), which
  // refuses damaged ledgers; open() fails only on the environment.
  store->problem_ = store->prepare();
  return store;
}

std::optional<std::string> ledger_store::prepare() {
  // WAL: a commit appends to the log, and readers never block the node.
  // synchronous=FULL: every commit is synced, so an acknowledged change
  // survives power loss, not only a crash of the process.
  // A new ledger gets 64 KiB pages (SQLite's largest; a no-op for an
  // existing file, whose pages keep their size): a block is a few hundred
  // bytes, and storing an adopted chain of 100,000 of them took 161 ms with
  // 4 KiB pages, 66 ms with 64 KiB (fewer pages to fill, log and sync). A
  // small commit costs ~220 instead of ~170 us (bench/dlt_bench, sq tests
  // in BENCHMARKS.md); commits are grouped, so that is not the bottleneck.
  if (auto err = exec("PRAGMA page_size=65536"))
    return "it is not a dlt-node ledger (" + *err + ")";
  if (auto err = exec("PRAGMA journal_mode=WAL"))
    return "it is not a dlt-node ledger (" + *err + ")";
  if (auto err = exec("PRAGMA synchronous=FULL"))
    return "cannot configure it: " + *err;
  // SQLite copies the log into the database (a checkpoint) inside the
  // commit that makes the log long: storing an adopted chain of 100,000
  // blocks then wrote its 27 MB twice before the answer. The hook only
  // notes the log's length; apply() checkpoints before its next change.
  sqlite3_wal_hook(
    db_,
    [](void* self, sqlite3*, const char*, int pages) {
      static_cast<ledger_store*>(self)->wal_pages_ = pages;
      return SQLITE_OK;
    },
    this);

  {
    statement st;
    if (!st.prepare(db_, "PRAGMA page_size")
        || sqlite3_step(st.get()) != SQLITE_ROW)
      return "it is not a dlt-node ledger (" + errmsg(db_) + ")";
    page_size_ = std::max<std::int64_t>(512, sqlite3_column_int64(st.get(), 0));
  }
  int version = -1;
  {
    statement st;
    if (!st.prepare(db_, "PRAGMA user_version")
        || sqlite3_step(st.get()) != SQLITE_ROW)
      return "it is not a dlt-node ledger (" + errmsg(db_) + ")";
    version = sqlite3_column_int(st.get(), 0);
  }
  if (version == 0) {
    statement st;
    if (!st.prepare(db_, "SELECT count(*) FROM sqlite_schema")
        || sqlite3_step(st.get()) != SQLITE_ROW)
      return "it is not a dlt-node ledger (" + errmsg(db_) + ")";
    if (sqlite3_column_int(st.get(), 0) != 0)
      return "it is an SQLite database, but not a dlt-node ledger";
    std::string create = "BEGIN;" + std::string{schema_sql}
                         + "PRAGMA user_version="
                         + std::to_string(schema_version) + ";COMMIT;";
    if (auto err = exec(create.c_str()))
      return "cannot create the ledger: " + *err;
  } else if (version != schema_version) {
    return "it has ledger format " + std::to_string(version)
           + "; this dlt-node reads format " + std::to_string(schema_version);
  }

  auto& s = *stmts_;
  struct {
    statement& st;
    const char* sql;
  } prepared[] = {
    {s.begin, "BEGIN IMMEDIATE"},
    {s.commit, "COMMIT"},
    {s.rollback, "ROLLBACK"},
    {s.insert_block, "INSERT INTO blocks(idx, hash, json) VALUES(?1, ?2, ?3)"},
    {s.insert_blocks, insert_blocks_sql().c_str()},
    {s.truncate_blocks, "DELETE FROM blocks WHERE idx >= ?1"},
    {s.insert_own, "INSERT OR IGNORE INTO own_blocks(hash) VALUES(?1)"},
    {s.delete_own, "DELETE FROM own_blocks WHERE hash = ?1"},
    {s.insert_tx, "INSERT INTO pending(seq, json) VALUES(?1, ?2)"},
    {s.delete_tx, "DELETE FROM pending WHERE seq = ?1"},
    {s.insert_peer, "INSERT OR IGNORE INTO peers(address) VALUES(?1)"},
    {s.delete_peer, "DELETE FROM peers WHERE address = ?1"},
  };
  for (auto& p : prepared)
    if (!p.st.prepare(db_, p.sql))
      return "it does not have the tables of a dlt-node ledger ("
             + errmsg(db_) + ")";
  return std::nullopt;
}

result<stored_ledger> ledger_store::load() {
  if (problem_)
    return failure{path_ + ": " + *problem_};
  stored_ledger out;
  auto damaged = [&](const std::string& what) {
    return failure{path_ + " is damaged: " + what};
  };
  // SQLite's structural check of the whole file (PRAGMA quick_check: the
  // free-page list, pages used twice or lost, index entries) reads every
  // page once more: it runs before the first change instead (apply()), so
  // a ledger damaged there is never extended. Everything served is checked
  // here, row by row, and SQLite reports any damaged page these reads
  // cross: every table is read whole below.
  quick_check_pending_ = true;
  {
    // The list is sized once (not moved as it grows: a block is 200 bytes).
    statement st;
    if (st.prepare(db_, "SELECT max(idx) FROM blocks")
        && sqlite3_step(st.get()) == SQLITE_ROW) {
      auto last = sqlite3_column_int64(st.get(), 0);
      if (last > 0 && last < (std::int64_t{1} << 32))
        out.blocks.reserve(static_cast<std::size_t>(last));
    }
  }
  using problem = std::optional<std::string>;
  auto blocks_ok = scan(db_, "SELECT idx, hash, json FROM blocks ORDER BY idx",
                        [&](sqlite3_stmt* row) -> problem {
    auto n = out.blocks.size() + 1;
    auto where = [n] { return "block " + std::to_string(n) + ": "; };
    auto idx = sqlite3_column_int64(row, 0);
    if (idx != static_cast<std::int64_t>(n))
      return n == 1 ? "the chain does not start with block 1"
                    : "block " + std::to_string(n) + " is missing";
    // Read in place: SQLite's text stays valid until the next step.
    auto stored_hash = column_view(row, 1);
    auto json = column_view(row, 2);
    // The one reader of blocks from text, as for peers' blocks: every value
    // this node (or an older one) could have stored reads back.
    auto b = block_from_text(json, true);
    if (!b)
      return where() + b.error();
    if (b->index != n)
      return where() + "its JSON says index " + std::to_string(b->index);
    if (b->hash != stored_hash)
      return where() + "its stored hash is not the hash of its bytes";
    if (n > 1 && b->previous_hash != out.blocks.back().hash)
      return where() + "previous_hash is not the hash of block "
             + std::to_string(n - 1);
    if (n == 1 && b->previous_hash != genesis_previous_hash)
      return std::string{"block 1: previous_hash of a genesis block must be \"0\""};
    out.blocks.push_back(std::move(*b));
    return std::nullopt;
  });
  if (blocks_ok)
    return damaged(*blocks_ok);

  auto own_ok = scan(db_, "SELECT hash FROM own_blocks",
                     [&](sqlite3_stmt* row) -> problem {
    auto h = column_text(row, 0);
    if (!is_hex_hash(h))
      return "own_blocks holds \"" + h + "\", which is not a hash";
    out.own.push_back(std::move(h));
    return std::nullopt;
  });
  if (own_ok)
    return damaged(*own_ok);

  auto pending_ok = scan(db_, "SELECT seq, json FROM pending ORDER BY seq",
                         [&](sqlite3_stmt* row) -> problem {
    stored_tx tx{sqlite3_column_int64(row, 0), column_text(row, 1)};
    if (!transaction_from_text(tx.json, true))
      return "pending transaction " + std::to_string(tx.seq)
             + " is not a canonical {\"data\": value}";
    out.pending.push_back(std::move(tx));
    return std::nullopt;
  });
  if (pending_ok)
    return damaged(*pending_ok);

  auto peers_ok = scan(db_, "SELECT address FROM peers ORDER BY pos",
                       [&](sqlite3_stmt* row) -> problem {
    auto a = column_text(row, 0);
    auto parsed = parse_peer_address(a);
    if (!parsed || parsed->text != a)
      return "peer \"" + a + "\" is not a peer address";
    out.peers.push_back(std::move(a));
    return std::nullopt;
  });
  if (peers_ok)
    return damaged(*peers_ok);

  if (out.blocks.empty() && (!out.pending.empty() || !out.peers.empty()))
    return damaged("it holds pending transactions or peers but no blocks");
  return out;
}

namespace {

/// Runs a statement to completion with the given bindings already made;
/// the error text, if any, is taken before the reset.
std::optional<std::string> run(sqlite3_stmt* st) {
  std::optional<std::string> err;
  if (sqlite3_step(st) != SQLITE_DONE)
    err = sqlite3_errmsg(sqlite3_db_handle(st));
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return err;
}

void bind_text(sqlite3_stmt* st, int i, const std::string& s) {
  sqlite3_bind_text(st, i, s.data(), static_cast<int>(s.size()), SQLITE_STATIC);
}

} // namespace

std::optional<std::string> ledger_store::apply_one(const ledger_change& c) {
  auto& s = *stmts_;
  std::optional<std::string> err;
  auto fail = [&](const char* what) { return std::string{what} + ": " + *err; };
  if (c.truncate_from > 0) {
    sqlite3_bind_int64(s.truncate_blocks.get(), 1,
                       static_cast<std::int64_t>(c.truncate_from));
    if ((err = run(s.truncate_blocks.get())))
      return fail("removing blocks");
  }
  // Every block added, in order, then full runs of blocks_per_insert rows
  // per statement, then the rest one at a time.
  struct row_ref {
    std::uint64_t index;
    const digest* hash;
    std::string_view json;
  };
  std::vector<row_ref> rows;
  rows.reserve(c.block_count());
  for (const auto& b : c.blocks)
    rows.push_back({b.index, &b.hash, b.json});
  for (const auto& r : c.runs)
    for (auto k = r.from; k < r.to; ++k)
      rows.push_back({r.first + k, &r.hashes[k], r.block(k)});
  std::vector<char> hex(64 * std::min(blocks_per_insert, rows.size()));
  if (rows.size() >= blocks_per_insert && !writeback_)
    writeback_ = std::make_unique<log_writeback>(path_);
  for (std::size_t i = 0; i < rows.size();) {
    std::size_t bytes = 0;
    bool run_of_many = rows.size() - i >= blocks_per_insert;
    auto count = run_of_many ? blocks_per_insert : 1;
    auto st = run_of_many ? s.insert_blocks.get() : s.insert_block.get();
    for (std::size_t k = 0; k < count; ++k, ++i) {
      const auto& b = rows[i];
      auto at = static_cast<int>(3 * k);
      digest_hex(b.hash->data(), hex.data() + 64 * k);
      sqlite3_bind_int64(st, at + 1, static_cast<std::int64_t>(b.index));
      sqlite3_bind_text(st, at + 2, hex.data() + 64 * k, 64, SQLITE_STATIC);
      sqlite3_bind_text(st, at + 3, b.json.data(),
                        static_cast<int>(b.json.size()), SQLITE_STATIC);
      bytes += b.json.size();
    }
    if ((err = run(st)))
      return fail("storing a block");
    if (writeback_)
      writeback_->stored(bytes);
  }
  for (const auto& h : c.own_added) {
    bind_text(s.insert_own.get(), 1, h);
    if ((err = run(s.insert_own.get())))
      return fail("storing a block's origin");
  }
  for (const auto& h : c.own_removed) {
    bind_text(s.delete_own.get(), 1, h);
    if ((err = run(s.delete_own.get())))
      return fail("removing a block's origin");
  }
  for (auto seq : c.txs_removed) {
    sqlite3_bind_int64(s.delete_tx.get(), 1, seq);
    if ((err = run(s.delete_tx.get())))
      return fail("removing a pending transaction");
  }
  for (const auto& tx : c.txs_added) {
    auto st = s.insert_tx.get();
    sqlite3_bind_int64(st, 1, tx.seq);
    bind_text(st, 2, tx.json);
    if ((err = run(st)))
      return fail("storing a pending transaction");
  }
  for (const auto& p : c.peers_added) {
    bind_text(s.insert_peer.get(), 1, p);
    if ((err = run(s.insert_peer.get())))
      return fail("storing a peer");
  }
  for (const auto& p : c.peers_removed) {
    bind_text(s.delete_peer.get(), 1, p);
    if ((err = run(s.delete_peer.get())))
      return fail("removing a peer");
  }
  return std::nullopt;
}

std::optional<std::string> ledger_store::begin() {
  if (problem_)
    return *problem_;
  auto& s = *stmts_;
  if (quick_check_pending_) {
    statement st;
    std::string verdict;
    if (!st.prepare(db_, "PRAGMA quick_check")
        || sqlite3_step(st.get()) != SQLITE_ROW)
      verdict = errmsg(db_);
    else
      verdict = column_text(st.get(), 0);
    if (verdict != "ok") {
      // Nothing is written to a damaged file, now or later.
      problem_ = path_ + " is damaged: SQLite's integrity check says: " + verdict;
      return *problem_;
    }
    quick_check_pending_ = false;
  }
  if (wal_pages_ * page_size_ >= checkpoint_bytes) {
    // What the last commits logged, copied while no answer waits on it but
    // this change's own (a failed checkpoint is retried with the next one).
    if (sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                  nullptr, nullptr)
        == SQLITE_OK)
      wal_pages_ = 0;
  }
  if (auto err = run(s.begin.get()))
    return "cannot begin a transaction: " + *err;
  open_ = true;
  return std::nullopt;
}

void ledger_store::roll_back() {
  run(stmts_->rollback.get());
  open_ = false;
}

std::optional<std::string> ledger_store::stage(const ledger_change& part) {
  if (!open_)
    if (auto err = begin())
      return err;
  if (auto err = apply_one(part)) {
    roll_back();
    return err;
  }
  return std::nullopt;
}

void ledger_store::discard_staged() {
  if (open_)
    roll_back();
}

std::optional<std::string>
ledger_store::apply(const std::vector<ledger_change>& changes) {
  if (!open_)
    if (auto err = begin())
      return err;
  for (const auto& c : changes) {
    if (auto err = apply_one(c)) {
      roll_back();
      return err;
    }
  }
  // COMMIT syncs the log (synchronous=FULL): durable when this returns.
  if (auto err = run(stmts_->commit.get())) {
    roll_back();
    return "cannot commit: " + *err;
  }
  open_ = false;
  return std::nullopt;
}

} // namespace dlt
