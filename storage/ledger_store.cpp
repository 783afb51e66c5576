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
#include "storage/ledger_migrate.hpp"
#include "storage/sqlite_statement.hpp"

namespace dlt {

namespace {

/// Format 2 keeps an adopted chain's blocks in runs (a row for many
/// consecutive blocks) instead of a row per block: storing 100,000 blocks
/// cost ~60 ms by rows, most of it SQLite's work per row, and ~30 ms by
/// runs, most of it writing and syncing the bytes. Format 1 ledgers are
/// rewritten to format 2 when opened (ledger_migrate.cpp).
constexpr int schema_version = 2;

/// A change adding at least this many blocks starts the log's writeback
/// as it goes (log_writeback).
constexpr std::size_t long_change_blocks = 1024;

constexpr const char* block_runs_sql = R"sql(
CREATE TABLE block_runs (
  first  INTEGER PRIMARY KEY, -- index of the run's first block: 1, 2, ...
  count  INTEGER NOT NULL,    -- its blocks: first .. first + count - 1
  hashes BLOB NOT NULL,       -- their SHA-256 digests, 32 bytes each, in order
  json   TEXT NOT NULL        -- their canonical bytes, json.dumps(block,
                              -- sort_keys=True), joined by ", "
);
)sql";

constexpr const char* other_tables_sql = R"sql(
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

/// Reads one row of block_runs onto `blocks` (the blocks before it) and
/// checks it: it starts where they end, its text is the canonical bytes of
/// `count` blocks joined by ", ", each block has the stored hash, its own
/// index and a link to the block before. Names what is wrong, where.
std::optional<std::string> check_run(sqlite3_stmt* row, chain& blocks) {
  auto n = blocks.size() + 1; // the block this run must start with
  auto first = sqlite3_column_int64(row, 0);
  auto count = sqlite3_column_int64(row, 1);
  auto name = [](std::uint64_t k) { return "block " + std::to_string(k); };
  if (first != static_cast<std::int64_t>(n)) {
    if (first > static_cast<std::int64_t>(n))
      return n == 1 ? std::string{"the chain does not start with block 1"}
                    : name(n) + " is missing";
    return name(static_cast<std::uint64_t>(first)) + " is stored twice";
  }
  auto hashes = static_cast<const std::uint8_t*>(sqlite3_column_blob(row, 2));
  auto hash_bytes = sqlite3_column_bytes(row, 2);
  if (count < 1 || count > (std::int64_t{1} << 24)
      || hash_bytes != 32 * count || sqlite3_column_type(row, 2) != SQLITE_BLOB)
    return "the run from " + name(n) + " says it holds "
           + std::to_string(count) + " blocks, with "
           + std::to_string(hash_bytes) + " bytes of hashes";
  // Read in place: SQLite's text stays valid until the next step. The one
  // reader of blocks from text, as for peers' blocks: every value this
  // node (or an older one) could have stored reads back.
  auto json = column_view(row, 3);
  auto got = blocks_from_list_body(json, n, std::move(blocks));
  if (!got)
    return got.error();
  blocks = std::move(*got);
  if (blocks.size() - (n - 1) != static_cast<std::uint64_t>(count))
    return "the run from " + name(n) + " holds "
           + std::to_string(blocks.size() - (n - 1)) + " blocks, not "
           + std::to_string(count);
  thread_local std::vector<std::uint32_t> ends;
  auto in_place = match_run(json, &blocks[n - 1], count, ends);
  char hex[64];
  for (auto k = n - 1; k < blocks.size(); ++k) {
    const auto& b = blocks[k];
    auto where = [&] { return name(k + 1) + ": "; };
    if (k - (n - 1) >= in_place)
      return where() + "its bytes are not in canonical form";
    if (b.index != k + 1)
      return where() + "its JSON says index " + std::to_string(b.index);
    digest_hex(hashes + 32 * (k - (n - 1)), hex);
    if (b.hash != std::string_view(hex, 64))
      return where() + "its stored hash is not the hash of its bytes";
    if (k > 0 && b.previous_hash != blocks[k - 1].hash)
      return where() + "previous_hash is not the hash of block "
             + std::to_string(k);
    if (k == 0 && b.previous_hash != genesis_previous_hash)
      return std::string{"block 1: previous_hash of a genesis block must be \"0\""};
  }
  if (ends.back() != json.size())
    return name(blocks.size()) + ": its bytes are not in canonical form";
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
  statement insert_run, last_run_before, cut_run, truncate_runs;
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
  // notes the log's length; the storage actor checkpoints once the answers
  // are out (checkpoint()), or apply() before its next change.
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
    std::string create = "BEGIN;" + std::string{block_runs_sql}
                         + other_tables_sql
                         + "PRAGMA user_version="
                         + std::to_string(schema_version) + ";COMMIT;";
    if (auto err = exec(create.c_str()))
      return "cannot create the ledger: " + *err;
  } else if (version == 1) {
    if (auto err = migrate_format_1(db_, block_runs_sql))
      return *err;
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
    {s.insert_run, "INSERT INTO block_runs(first, count, hashes, json)"
                   " VALUES(?1, ?2, ?3, ?4)"},
    {s.last_run_before, "SELECT first, count, hashes, json FROM block_runs"
                        " WHERE first < ?1 ORDER BY first DESC LIMIT 1"},
    {s.cut_run, "UPDATE block_runs SET count = ?2, hashes = ?3, json = ?4"
                " WHERE first = ?1"},
    {s.truncate_runs, "DELETE FROM block_runs WHERE first >= ?1"},
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
    if (st.prepare(db_, "SELECT max(first + count - 1) FROM block_runs")
        && sqlite3_step(st.get()) == SQLITE_ROW) {
      auto last = sqlite3_column_int64(st.get(), 0);
      if (last > 0 && last < (std::int64_t{1} << 32))
        out.blocks.reserve(static_cast<std::size_t>(last));
    }
  }
  using problem = std::optional<std::string>;
  auto blocks_ok = scan(db_,
                        "SELECT first, count, hashes, json FROM block_runs"
                        " ORDER BY first",
                        [&](sqlite3_stmt* row) -> problem {
    return check_run(row, out.blocks);
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

std::optional<std::string> ledger_store::cut_run_at(std::uint64_t from) {
  // The run holding block `from` (if any starts before it) keeps the
  // blocks before it; runs starting at or after it are deleted by the
  // caller. Cutting reads the run's blocks back to find where block
  // from - 1 ends: a run is at most a segment, and this is a reorg's step.
  auto st = stmts_->last_run_before.get();
  sqlite3_bind_int64(st, 1, static_cast<std::int64_t>(from));
  int rc = sqlite3_step(st);
  if (rc != SQLITE_ROW) {
    std::optional<std::string> err;
    if (rc != SQLITE_DONE)
      err = errmsg(db_);
    sqlite3_reset(st);
    return err;
  }
  auto first = static_cast<std::uint64_t>(sqlite3_column_int64(st, 0));
  auto count = static_cast<std::uint64_t>(sqlite3_column_int64(st, 1));
  std::string hashes(
    static_cast<const char*>(sqlite3_column_blob(st, 2)),
    static_cast<std::size_t>(sqlite3_column_bytes(st, 2)));
  std::string json{column_view(st, 3)};
  sqlite3_reset(st);
  if (first + count <= from)
    return std::nullopt; // it ends before `from`
  auto keep = from - first;
  auto blocks = blocks_from_list_body(json, first);
  std::vector<std::uint32_t> ends;
  if (!blocks || blocks->size() != count || hashes.size() != 32 * count
      || match_run(json, blocks->data(), keep, ends) != keep)
    return "the stored run from block " + std::to_string(first)
           + " cannot be read back";
  auto end = ends.back();
  auto cut = stmts_->cut_run.get();
  sqlite3_bind_int64(cut, 1, static_cast<std::int64_t>(first));
  sqlite3_bind_int64(cut, 2, static_cast<std::int64_t>(keep));
  sqlite3_bind_blob(cut, 3, hashes.data(), static_cast<int>(32 * keep),
                    SQLITE_STATIC);
  sqlite3_bind_text(cut, 4, json.data(), static_cast<int>(end), SQLITE_STATIC);
  return run(cut);
}

std::optional<std::string> ledger_store::apply_one(const ledger_change& c) {
  auto& s = *stmts_;
  std::optional<std::string> err;
  auto fail = [&](const char* what) { return std::string{what} + ": " + *err; };
  if (c.truncate_from > 0) {
    if ((err = cut_run_at(c.truncate_from)))
      return fail("removing blocks");
    sqlite3_bind_int64(s.truncate_runs.get(), 1,
                       static_cast<std::int64_t>(c.truncate_from));
    if ((err = run(s.truncate_runs.get())))
      return fail("removing blocks");
  }
  // A row per block added one at a time (a mined or announced block), a
  // row per run (a part of a chain segment: up to 64 KiB of blocks).
  auto insert = [&](std::uint64_t first, std::size_t count,
                    const digest* hashes, std::string_view json) {
    auto st = s.insert_run.get();
    sqlite3_bind_int64(st, 1, static_cast<std::int64_t>(first));
    sqlite3_bind_int64(st, 2, static_cast<std::int64_t>(count));
    sqlite3_bind_blob(st, 3, hashes->data(), static_cast<int>(32 * count),
                      SQLITE_STATIC);
    sqlite3_bind_text(st, 4, json.data(), static_cast<int>(json.size()),
                      SQLITE_STATIC);
    err = run(st);
    if (!err && writeback_)
      writeback_->stored(json.size());
    return !err;
  };
  static_assert(sizeof(digest) == 32, "hashes are stored as 32 bytes each");
  if (c.block_count() >= long_change_blocks && !writeback_)
    writeback_ = std::make_unique<log_writeback>(path_);
  for (const auto& b : c.blocks)
    if (!insert(b.index, 1, &b.hash, b.json))
      return fail("storing a block");
  for (const auto& r : c.runs) {
    if (r.from >= r.to)
      continue;
    auto begin = r.begin_of(r.from);
    if (!insert(r.first + r.from, r.to - r.from, &r.hashes[r.from],
                r.text.substr(begin, r.ends[r.to - 1] - begin)))
      return fail("storing blocks");
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

bool ledger_store::log_is_long() const {
  return wal_pages_ * page_size_ >= checkpoint_bytes;
}

void ledger_store::checkpoint() {
  // A failed checkpoint is retried before the next change. Nothing is
  // written to a file not yet checked, or found damaged.
  if (!open_ && !problem_ && !quick_check_pending_
      && sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                   nullptr, nullptr)
           == SQLITE_OK)
    wal_pages_ = 0;
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
  if (log_is_long())
    checkpoint(); // the storage actor had no quiet moment for it
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
