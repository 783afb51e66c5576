#pragma once
// Blocks and chains straight from text: each block becomes its canonical
// bytes and hash as it is read, with no DOM, under the carried depth bound
// (json_rules.hpp) and accepting every value Python accepts. Shapes are
// checked as block_from_json does: exactly the keys index, previous_hash,
// timestamp and transactions; index an integer >= 1; previous_hash a string;
// timestamp a number (NaN, Infinity and big integers are numbers);
// transactions a list of {"data": value}.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/block.hpp"
#include "model/chain.hpp"
#include "model/result.hpp"

namespace dlt {

/// One block from text (a native batch's block, an announced block, a stored
/// row). `require_canonical`: the text must already be the block's canonical
/// bytes (the ledger's check at start-up). Links are not checked here.
result<block> block_from_text(std::string_view text,
                              bool require_canonical = false);

/// One transaction {"data": v} from text (a stored pending row): its
/// canonical bytes. `require_canonical` as for block_from_text.
result<std::string> transaction_from_text(std::string_view text,
                                          bool require_canonical = false);

/// Reads a peer's chain answer {"chain": [block, ...], ...} from pieces of
/// any size as they arrive. Keeps the blocks read so far (canonical bytes
/// and hash) and the unfinished tail of the current one, nothing else; keys
/// other than "chain" are read (they must be valid JSON) but not kept.
/// Reading stops at the first element that is not a valid block or does not
/// link to the block before it (indexes 1, 2, 3, ...; block 1's
/// previous_hash "0"; every other's the hash of the block before).
/// If "chain" appears twice, the last one counts, as in Python (but a list
/// is read as it comes: an invalid earlier list is refused, where Python
/// would have dropped it unread).
class chain_reader {
public:
  /// `min_length`: a chain of at most this many blocks is refused as "not
  /// longer" (not_longer() tells it apart from an invalid answer).
  explicit chain_reader(std::size_t min_length = 0);
  ~chain_reader();
  chain_reader(const chain_reader&) = delete;
  chain_reader& operator=(const chain_reader&) = delete;

  /// The next bytes of the body. False once the answer is refused (error()
  /// says why): the caller may stop reading; later bytes are ignored.
  bool feed(std::string_view bytes);

  /// Room for the blocks of an answer of `bytes` bytes (its
  /// Content-Length), so that the chain is not moved as it grows. Address
  /// space only: the room no block fills is never touched, and it ends with
  /// the chain (which is handed over, not kept).
  void expect_bytes(std::size_t bytes);

  /// The body has ended: the chain (handed over once), or why it is
  /// refused.
  result<chain> finish();

  /// Reads a list's body instead of a chain answer: blocks joined by ","
  /// with no brackets and nothing around them (a native answer's string).
  /// Indexes and links are not checked (the caller checks the whole list
  /// at once); errors name the blocks from `first_name` on. The blocks
  /// are appended to `into` (room reserved there is used as it is).
  /// Before feed().
  void read_list_body(std::uint64_t first_name, chain into = {});

  bool failed() const noexcept { return failed_; }
  const std::string& error() const noexcept { return error_; }
  /// The answer was valid but not longer than min_length.
  bool not_longer() const noexcept { return not_longer_; }
  /// Blocks accepted so far.
  std::size_t blocks_read() const noexcept { return blocks_.size(); }
  /// Bytes held besides the accepted blocks: unfinished input and output.
  std::size_t buffered_bytes() const noexcept;

private:
  struct impl;
  std::size_t process(const char* begin, const char* end, bool last);
  bool fail(std::string why);
  bool take_block();
  bool take_block(block& b, std::string_view json);

  std::unique_ptr<impl> impl_;
  chain blocks_;
  std::string tail_;
  std::size_t retry_at_ = 0;
  std::uint64_t offset_ = 0; // document offset of the next unconsumed byte
  std::size_t min_length_;
  std::uint64_t name_base_ = 0; // the number errors give a block, less one
  std::uint8_t step_ = 0;
  bool list_body_ = false;
  bool in_chain_key_ = false;
  bool chain_seen_ = false;
  bool chain_not_list_ = false;
  bool failed_ = false;
  bool finished_ = false;
  bool not_longer_ = false;
  bool taken_ = false;
  std::string error_;
};

/// The whole answer at once (same rules and messages as chain_reader). With
/// `min_length`, a chain that is not longer is recognized by counting its
/// elements, before any block is canonicalized or hashed.
result<chain> chain_from_text(std::string_view body, std::size_t min_length = 0);

/// The blocks of a native answer's string: one block's canonical text, or
/// several joined by ", " as a stored chain holds them (chain_reader's
/// read_list_body), appended to `into`. Errors name the blocks from
/// `first_name` on; indexes and links are for the caller to check
/// (links_error).
result<chain> blocks_from_list_body(std::string_view text,
                                    std::uint64_t first_name = 1,
                                    chain into = {});

/// How many of `blocks` (from the first) stand in `text` as they would in
/// a run of canonical blocks joined by ", " (as chain segments and the
/// ledger hold them); `ends` gets where each of those ends in `text`.
/// `text` is exactly that run when all of them match and the last one ends
/// where `text` does.
std::size_t match_run(std::string_view text, const block* blocks,
                      std::size_t count, std::vector<std::uint32_t>& ends);

/// The number of elements of the last "chain" list of a chain answer, found
/// by a scan that neither canonicalizes nor hashes; nothing when the answer
/// does not have that shape.
std::optional<std::size_t> count_chain_blocks(std::string_view body);

/// The canonical transactions of a block, from its canonical bytes.
std::vector<std::string> transactions_of(std::string_view block_json);

} // namespace dlt
