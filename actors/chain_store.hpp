#pragma once
// The chain as the chain actor holds it: every block's canonical bytes in
// immutable segments of whole blocks (json_segment: the served form, shared
// with every published view and with storage), plus each block's end offset
// and hash. There is no other copy of a block: holding a chain costs its
// canonical JSON plus 36 bytes a block.
//
// A segment closes at about segment_bytes; appending copies at most the last
// one (published views may share it, so it is replaced, never modified).

#include <functional>
#include <memory>
#include <vector>

#include "actors/actors.hpp"
#include "storage/ledger_store.hpp"

namespace dlt {

class chain_store {
public:
  static constexpr std::size_t segment_bytes = 64 * 1024;
  /// append() gives freed memory back to the system every this many bytes.
  static constexpr std::size_t trim_bytes = 4 * 1024 * 1024;
  /// append() reports progress every this many bytes.
  static constexpr std::size_t stage_bytes = 1024 * 1024;

  /// An empty segment for blocks from index `first`, with room for a full
  /// one; it is full (the next block opens another) at segment_bytes.
  static std::shared_ptr<json_segment> new_segment(std::uint64_t first);
  static bool full(const json_segment& seg) {
    return seg.text.size() >= segment_bytes;
  }

  /// The number of blocks.
  std::uint64_t size() const;
  /// Block `index` (1-based, at most size()): its bytes and hash.
  std::string_view json(std::uint64_t index) const;
  const digest& hash(std::uint64_t index) const;
  std::string hash_hex(std::uint64_t index) const;
  /// Block `index` as a block (copied: for the few a reorg or a pop needs).
  block block_at(std::uint64_t index) const;

  /// Appends `b`, which links to the last block (the caller checked).
  void push(const block& b);
  /// Appends `blocks`, which link to the last block, freeing each one's
  /// strings once copied (adopting a long chain never holds it twice).
  /// `progress`, if given, hears the index of the last block in place
  /// every time about stage_bytes more of them are (storage can start).
  void append(chain&& blocks,
              const std::function<void(std::uint64_t)>& progress = {});
  /// Appends whole segments (a native peer's verified blocks), which link
  /// to the last block (the caller checked): no block is copied.
  void append(json_segments&& segments);
  /// Keeps the first `n` blocks only.
  void truncate(std::uint64_t n);

  /// The served list, shared until the next change.
  std::shared_ptr<const chain_json> json_view();
  /// Blocks `first` to `last` (0: to the end) as storage writes them: a
  /// run per segment, sharing it.
  std::vector<block_run> runs_from(std::uint64_t first,
                                   std::uint64_t last = 0) const;

private:
  const json_segment& segment_of(std::uint64_t index) const;
  /// A segment to append to: the last one (copied) when it has room, else
  /// a new one; put back with seal().
  std::shared_ptr<json_segment> open_last();
  void seal(std::shared_ptr<json_segment> seg);

  json_segments segments_;
  std::shared_ptr<const chain_json> cached_;
};

/// Returns the pages of freed memory to the system (malloc_trim).
void release_free_memory();

} // namespace dlt
