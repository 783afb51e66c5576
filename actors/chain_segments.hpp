#pragma once
// The chain actor's served form of its chain: the canonical block list as
// immutable json_segments (see chain_json), kept in step with the blocks.
// A published chain_json shares its segments with later states: appending
// copies at most the last segment, never the whole list.

#include <memory>
#include <vector>

#include "actors/actors.hpp"

namespace dlt {

class chain_segments {
public:
  /// Segments close at about this many bytes.
  static constexpr std::size_t segment_bytes = 64 * 1024;

  /// Adds the block that follows the last one.
  void push(const block& b);
  /// Removes the last block.
  void pop();
  /// The blocks from index `first` on changed (or are new): rebuilds the
  /// segments from there to the end of `blocks`.
  void rebuild_from(const chain& blocks, std::uint64_t first);
  /// The current list, shared until the next change.
  std::shared_ptr<const chain_json> json();

private:
  std::uint64_t count() const;

  std::vector<std::shared_ptr<const json_segment>> segments_;
  std::shared_ptr<const chain_json> cached_;
};

} // namespace dlt
