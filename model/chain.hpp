#pragma once
// Chains and their validation. Validation is iterative and linear in the
// chain's length (the reference recurses and dies near 970 blocks).

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/block.hpp"
#include "model/result.hpp"

namespace dlt {

using chain = std::vector<block>;

/// Why `blocks` is not a valid chain, or nothing when it is. Valid: at least
/// one block; indexes run 1, 2, 3, ...; the first block's previous_hash is
/// "0"; every other block's previous_hash is the hash of the block before.
std::optional<std::string> validation_error(const chain& blocks);

/// Why `blocks` does not continue a chain whose last block has hash
/// `previous_hash` ("0": none) at index `first_index` - 1, or nothing when it
/// does: indexes run on from `first_index` and every block links to the one
/// before. An empty list continues anything.
std::optional<std::string> links_error(std::string_view previous_hash,
                                       std::uint64_t first_index,
                                       const chain& blocks);

/// Builds and validates a chain from a JSON list of blocks (a peer's answer).
result<chain> chain_from_json(const nlohmann::json& blocks);

/// The canonical transactions of one block, in order.
std::vector<std::string> block_transactions(const block& b);

/// The number of leading blocks `a` and `b` share (equal hashes).
std::size_t common_prefix(const chain& a, const chain& b);

/// What replacing `old_chain` with `replacement` does to transactions.
struct reorg_transactions {
  /// Carried by old_chain's blocks after the fork point (genesis excluded,
  /// and only blocks `counts` accepts) but not by the replacement's blocks
  /// after the fork point (as a multiset): dropped by the replacement.
  std::vector<std::string> orphaned;
  /// Carried by the replacement's blocks after the fork point and not by
  /// the orphaned blocks: new to this node.
  std::vector<std::string> included;
};

reorg_transactions
reorg(const chain& old_chain, const chain& replacement,
      const std::function<bool(const block&)>& counts = nullptr);

/// The JSON list of the chain's blocks: "[b1, b2, ...]" in canonical form.
std::string chain_json_array(const chain& blocks);

} // namespace dlt
