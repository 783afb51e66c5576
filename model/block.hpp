#pragma once
// Blocks and transactions as the reference protocol defines them.
//
// A block is {"index", "previous_hash", "timestamp", "transactions"}; a
// transaction is {"data": <any JSON value>}. A block keeps its canonical
// bytes (canonical_json.hpp) and their hash, computed once: serving, hashing
// and validating never serialize it again.

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/hash_text.hpp"
#include "model/result.hpp"

namespace dlt {

/// The genesis transaction every node's first block carries.
inline constexpr const char* genesis_data =
  "The Times 03/Jan/2009 Chancellor on brink of second bailout for banks";

/// previous_hash of a genesis block.
inline constexpr const char* genesis_previous_hash = "0";

struct block {
  // Declared, so that a new block (blocks_.emplace_back() as a chain is
  // read) is not zero-filled whole (200 bytes) before its members are set.
  block() noexcept {}

  std::uint64_t index = 0;
  hash_text previous_hash;
  /// Lowercase hex SHA-256 of `json`.
  hash_text hash;
  /// Python's json.dumps(block, sort_keys=True), byte for byte.
  std::string json;
};

/// The canonical form of the transaction {"data": data}.
std::string transaction_json(const nlohmann::json& data);

/// Builds a block from canonical transactions (see transaction_json).
block seal_block(std::uint64_t index, std::string_view previous_hash,
                 double timestamp, const std::vector<std::string>& transactions);

/// This node's genesis block, mined at `timestamp`.
block make_genesis(double timestamp);

/// Checks the shape of one block received from outside (exactly the four
/// keys; index an integer >= 1; previous_hash a string; timestamp a number;
/// transactions a list of {"data": v}) and computes its bytes and hash.
/// Links between blocks are checked by chain validation, not here.
result<block> block_from_json(const nlohmann::json& value);

} // namespace dlt
