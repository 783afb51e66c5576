#pragma once
// The fast path for the blocks peers actually send: text that is already
// canonical (dlt-node peers) or canonical but for whitespace (a Flask node's
// compact or indented json: sorted keys, ASCII escapes, repr floats). It
// reads the block's fixed shape directly, checks every value is in
// canonical form, and writes nothing at all when the text is canonical
// (the block's bytes are then a slice of the input); otherwise it copies the
// text with the separators fixed.
//
// Anything else (unsorted or duplicate keys, raw UTF-8, other escapes or
// number spellings, a wrong shape, an error, text that ends too early)
// answers `fallback`: the general canonicalizer then reads the block and
// gives the reason if it is refused. So this path decides nothing alone.

#include <cstddef>
#include <string_view>
#include <vector>

#include "model/block.hpp"
#include "model/json_out.hpp"

namespace dlt::json_detail {

struct fast_block_scratch {
  out_buffer out;
  struct level {
    const char* key; // the previous key of an object level, or nullptr
    std::size_t key_size;
    bool object;
  };
  std::vector<level> stack;
};

/// Reads the block at p (no leading whitespace) up to `end`. True: `json`
/// holds its canonical bytes (a view of the input or of scratch.out),
/// b.index and b.previous_hash are set, `block_end` is one past its '}'.
/// `trusted`: the text is known to be canonical (the canonicalizer's own
/// output): floats need no second check. `max_data_depth` bounds the
/// nesting of each transaction's data.
bool read_block_fast(const char* p, const char* end, std::size_t max_data_depth,
                     bool trusted, fast_block_scratch& scratch, block& b,
                     std::string_view& json, const char*& block_end);

} // namespace dlt::json_detail
