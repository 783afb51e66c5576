#pragma once
// What JSON text the node accepts, and how deep it may nest.
//
// Every value Python's json.loads accepts can reach us inside blocks a Python
// node mined: integers of any size (up to the 4,300 digits Python 3.11 reads),
// NaN, Infinity, -Infinity and lone surrogates ("\ud800"). Blocks, chains and
// stored rows accept all of them (python_values) and keep json.dumps' exact
// bytes; client requests refuse them unless the node runs with --python-json.
// Invalid UTF-8, raw control characters in strings and malformed JSON are
// always refused, as Python refuses them.
//
// One depth rule, on the depth of a transaction's DATA value (a scalar is 0
// levels, [] or {} is 1, [[]] is 2): a request may carry data of up to
// max_data_depth levels; anything carried (blocks from peers, native batches,
// stored rows) up to carried_data_depth, which covers all this node or an
// older build (up to 511) could have accepted, and all a Python node can
// serve (its json module stops near 990 levels of a whole document). The
// depth of a whole document follows from its shape.

#include <cstddef>
#include <string>
#include <string_view>

#include "model/result.hpp"

namespace dlt {

/// Levels of data a client request may carry.
inline constexpr std::size_t max_data_depth = 512;

/// Levels of data accepted in blocks and chains from peers and in stored rows.
inline constexpr std::size_t carried_data_depth = 1000;

/// Document depth around data of `data_depth` levels: a request body
/// {"data": v} adds 1, a block (block object, transactions list, transaction
/// object) adds 3, a chain answer {"chain": [block...]} adds 5.
constexpr std::size_t request_depth(std::size_t data_depth) { return data_depth + 1; }
constexpr std::size_t block_depth(std::size_t data_depth) { return data_depth + 3; }
constexpr std::size_t chain_depth(std::size_t data_depth) { return data_depth + 5; }

struct json_rules {
  /// Deepest nesting of arrays and objects in the whole document.
  std::size_t max_depth = request_depth(max_data_depth);
  /// Accept the values only Python writes (big integers, NaN, Infinity,
  /// lone surrogates) instead of refusing them.
  bool python_values = false;
};

/// Rules for a client request body.
constexpr json_rules request_rules(bool python_values) {
  return {request_depth(max_data_depth), python_values};
}
/// Rules for one block from a peer or the ledger.
constexpr json_rules block_rules() { return {block_depth(carried_data_depth), true}; }

/// The canonical form of the JSON text `text` (Python's json.dumps(
/// json.loads(text), sort_keys=True)), or why `text` is refused.
result<std::string> canonicalize(std::string_view text, const json_rules& rules);

} // namespace dlt
