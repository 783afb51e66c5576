#pragma once
// Older ledger formats, rewritten in place as the current one when a node
// opens them (ledger_store::open), so that a node upgraded over its data
// directory keeps its chain, mempool and peers.

#include <optional>
#include <string>

struct sqlite3;

namespace dlt {

/// Rewrites a format 1 ledger (blocks(idx, hash, json): a row per block, the
/// hash as hex) as format 2 (block_runs, created by `block_runs_sql`) in one
/// transaction: consecutive blocks go into runs of about 64 KiB. Every
/// other table is the same in both. Only the shape is converted here; the
/// blocks are checked by load() as always. On failure nothing changes and
/// the reason is returned.
std::optional<std::string> migrate_format_1(sqlite3* db,
                                            const char* block_runs_sql);

} // namespace dlt
