#pragma once
// The ledger on disk: one SQLite database (WAL mode, a sync per commit) in
// the node's data directory. Plain blocking I/O with no actors: the storage
// actor (actors/storage_actor.cpp) is its only user at run time and calls it
// from a thread of its own; main() opens and loads it before the actors start.
//
//   block_runs(first, count,  the chain: a row per run of consecutive blocks
//     hashes, json)           (an adopted chain's ~64 KiB segments, or one
//                             mined or announced block), their 32-byte
//                             hashes and canonical bytes joined by ", "
//   own_blocks(hash)          blocks this node mined (--requeue-orphans)
//   pending(seq, json)        the mempool in queue order (seq may go negative:
//                             requeued transactions go in front)
//   peers(pos, address)       registered peers in registration order
//
// Users may read it with the sqlite3 shell, also while the node runs.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "model/block.hpp"
#include "model/chain.hpp"
#include "model/result.hpp"
#include "model/sha256.hpp"

struct sqlite3;

namespace dlt {

/// A pending transaction as stored: its place in the queue and its bytes.
struct stored_tx {
  std::int64_t seq = 0;
  std::string json;
};

/// A block as storage writes it: its index, hash and canonical bytes,
/// which `keep` holds alive (the chain's segment, or the block itself), so
/// a block is never copied on its way to disk.
struct block_row {
  std::uint64_t index = 0;
  digest hash{};
  std::string_view json;
  std::shared_ptr<const void> keep;
};

/// The row of `b`, holding it.
block_row row_of(std::shared_ptr<const block> b);

/// Consecutive blocks as one buffer holds them (a chain segment,
/// actors/chain_store.hpp): the buffer's block k is text[start_k, ends[k])
/// (start_0 = 0, start_k = ends[k - 1] + 2, after ", "), with hash
/// hashes[k] and index first + k. The run is blocks from..to-1 of it;
/// `keep` holds the buffer alive. A long chain goes to storage as a few
/// runs per segment, not as a row per block.
struct block_run {
  std::uint64_t first = 0;
  std::string_view text;
  const std::uint32_t* ends = nullptr;
  const digest* hashes = nullptr;
  std::size_t from = 0;
  std::size_t to = 0;
  std::shared_ptr<const void> keep;

  /// Where the buffer's block k starts in `text`.
  std::size_t begin_of(std::size_t k) const {
    return k == 0 ? 0 : ends[k - 1] + 2;
  }
  /// The buffer's block k.
  std::string_view block(std::size_t k) const {
    return text.substr(begin_of(k), ends[k] - begin_of(k));
  }
};

/// One change to the stored ledger. The parts apply in the order listed;
/// a group of changes applies in one SQLite transaction, all or nothing.
struct ledger_change {
  /// Removes the blocks with index >= this first (0: none).
  std::uint64_t truncate_from = 0;
  /// Then adds these blocks, which continue the remaining ones, then the
  /// blocks of these runs, which continue those.
  std::vector<block_row> blocks;
  std::vector<block_run> runs;
  std::vector<std::string> own_added;
  std::vector<std::string> own_removed;
  std::vector<std::int64_t> txs_removed;
  std::vector<stored_tx> txs_added;
  std::vector<std::string> peers_added;
  std::vector<std::string> peers_removed;

  bool empty() const;
  /// The number of blocks it adds.
  std::size_t block_count() const;
  /// Appends `other`'s mempool and peer parts (it holds no chain parts).
  void merge_pending(ledger_change&& other);
};

/// Everything a node keeps across restarts, as loaded and checked.
struct stored_ledger {
  chain blocks; // empty: a new ledger, the node starts a chain
  std::vector<std::string> own;
  std::vector<stored_tx> pending; // queue order
  std::vector<std::string> peers; // registration order
};

class ledger_store {
public:
  /// File name of the database inside the data directory.
  static constexpr const char* file_name = "ledger.sqlite";

  /// Opens the ledger in `dir` (creating both when missing) and locks the
  /// directory against a second node. Fails with the reason when the
  /// directory cannot be created, locked or opened; a file that is not a
  /// ledger is reported by load().
  static result<std::unique_ptr<ledger_store>> open(const std::string& dir);

  ~ledger_store();
  ledger_store(const ledger_store&) = delete;
  ledger_store& operator=(const ledger_store&) = delete;

  /// Reads everything and checks it: the file's format, every block's
  /// shape, canonical bytes, stored hash, index and link to the block
  /// before, every pending transaction and peer address (and every page
  /// these reads cross). Fails with what is wrong, where. The structural
  /// check of the whole file (free pages, indexes) runs before the first
  /// apply(), which refuses to change a damaged file.
  result<stored_ledger> load();

  /// Applies `changes` in order in one transaction and syncs it to disk,
  /// together with what was staged before. Returns the reason on failure
  /// (nothing of `changes`, nor of the staged parts, is then stored).
  std::optional<std::string> apply(const std::vector<ledger_change>& changes);

  /// Writes `part` into a transaction that stays open: the next apply()
  /// completes and commits it (a long change is written while its rest is
  /// still being prepared). On failure, nothing staged is kept.
  std::optional<std::string> stage(const ledger_change& part);
  /// Drops what was staged and not yet applied (shutting down).
  void discard_staged();

  /// The log holds at least checkpoint_bytes: checkpoint() now spares the
  /// next change that work (apply() does it first otherwise).
  bool log_is_long() const;
  /// Copies the log into the database (SQLite's passive checkpoint), so the
  /// next commit rewrites the log from its start. Between transactions
  /// only; a failure is left to the next try.
  void checkpoint();

  /// The database file.
  const std::string& path() const { return path_; }

private:
  ledger_store(sqlite3* db, int lock_fd, std::string path);
  std::optional<std::string> exec(const char* sql);
  /// Sets the file up (WAL, schema) and prepares the statements; the
  /// reason when its content is not a usable ledger.
  std::optional<std::string> prepare();
  std::optional<std::string> apply_one(const ledger_change& c);
  /// Shortens the run holding block `from`, if it starts before it, to the
  /// blocks before `from`.
  std::optional<std::string> cut_run_at(std::uint64_t from);
  /// Runs the deferred checks and begins a transaction.
  std::optional<std::string> begin();
  void roll_back();

  sqlite3* db_;
  int lock_fd_;
  std::string path_;
  std::optional<std::string> problem_; // see prepare()
  /// Pages in the write-ahead log after the last commit; checkpoint() or
  /// apply() copy them once they hold checkpoint_bytes (SQLite's own
  /// default threshold, 1,000 pages of 4 KiB, which it would apply inside
  /// the commit).
  int wal_pages_ = 0;
  std::int64_t page_size_ = 4096;
  /// load() leaves SQLite's structural check of the file to the first
  /// apply() (see load()).
  bool quick_check_pending_ = false;
  bool open_ = false; // a transaction is open (stage())
  static constexpr std::int64_t checkpoint_bytes = 4096000;
  struct statements;
  std::unique_ptr<statements> stmts_;
  /// Opened with the first long change, kept while the store is open (the
  /// log file stays the same while SQLite holds it open).
  class log_writeback;
  std::unique_ptr<log_writeback> writeback_;
};

} // namespace dlt
