#include "actors/verifier.hpp"

#include <algorithm>
#include <iterator>
#include <optional>
#include <system_error>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "model/json_blocks.hpp"

namespace dlt {
namespace {

/// Below this many bytes a list is parsed on the verifier's thread alone.
constexpr std::size_t parallel_from_bytes = 2 << 20;
/// Threads that parse one list at most (the verifier's own among them).
constexpr unsigned max_parsers = 4;
/// Fewer bytes than any block takes ({"index": 1, "previous_hash": "",
/// "timestamp": 0, "transactions": []} is 77): room for every block.
constexpr std::size_t min_block_bytes = 64;

/// What one parser made of texts[from, to): their blocks in order, up to
/// the first text that failed, if any.
struct range_result {
  chain blocks;
  std::optional<std::size_t> failed; // the text's position
  std::size_t before_failed = 0;     // blocks read before that text
};

/// Blocks are parsed straight into one list, with room for `room` blocks
/// (address space: what no block fills is never touched); moving them from
/// one list into the next cost as much as parsing them.
range_result parse_range(const std::vector<std::string>& texts,
                         std::size_t from, std::size_t to, std::size_t room) {
  range_result out;
  out.blocks.reserve(room);
  for (auto i = from; i < to; ++i) {
    auto read = out.blocks.size();
    auto got = blocks_from_list_body(texts[i], 1, std::move(out.blocks));
    if (!got) {
      out.failed = i;
      out.before_failed = read;
      break;
    }
    out.blocks = std::move(*got);
  }
  return out;
}

verified_chain verify_blocks(const std::vector<std::string>& texts,
                             const std::string& peer, std::uint64_t shared,
                             const std::string& anchor) {
  verified_chain out;
  out.peer = peer;
  out.shared = shared;
  auto skipped = [&](std::string why) {
    out.result = "invalid";
    out.why_skipped = std::move(why);
    return std::move(out);
  };
  // Parsing and hashing each block is most of the work and needs nothing
  // of the blocks around it: a long answer (a native sync: strings of many
  // blocks each) is cut into ranges of about as many bytes, parsed side by
  // side; the links are checked afterwards, in order.
  std::size_t bytes = 0;
  for (const auto& t : texts)
    bytes += t.size();
  auto parsers = std::max<std::size_t>(
    1, std::min<std::size_t>({std::thread::hardware_concurrency(), max_parsers,
                              texts.size(), bytes / parallel_from_bytes}));
  // Range k starts at the first text after k/parsers of the bytes.
  std::vector<std::size_t> bounds{0};
  for (std::size_t i = 0, seen = 0; i < texts.size() && bounds.size() < parsers; ++i) {
    seen += texts[i].size();
    if (seen * parsers >= bytes * bounds.size())
      bounds.push_back(i + 1);
  }
  while (bounds.size() <= parsers)
    bounds.push_back(texts.size());
  std::vector<range_result> ranges(parsers);
  std::vector<std::thread> helpers;
  auto parse = [&](std::size_t k) {
    std::size_t range_bytes = 0;
    for (auto i = bounds[k]; i < bounds[k + 1]; ++i)
      range_bytes += texts[i].size();
    // The first range's list becomes the whole chain: room for all.
    ranges[k] = parse_range(texts, bounds[k], bounds[k + 1],
                            (k == 0 ? bytes : range_bytes) / min_block_bytes + 1);
  };
  std::size_t started = 1;
  try {
    for (; started < parsers; ++started)
      helpers.emplace_back(parse, started);
  } catch (const std::system_error&) {
    // No thread to be had: the ranges left are parsed here.
  }
  parse(0);
  for (auto k = started; k < parsers; ++k)
    parse(k);
  for (auto& t : helpers)
    t.join();
  // The earliest failure, as read in order: every block before it parsed,
  // so its number is known; the text is read again to name the block.
  std::uint64_t before = shared;
  for (const auto& r : ranges) {
    if (r.failed) {
      auto again = blocks_from_list_body(texts[*r.failed],
                                         before + r.before_failed + 1);
      return skipped(again ? "a block list that parsed once and not twice"
                           : again.error());
    }
    before += r.blocks.size();
  }
  chain tail = std::move(ranges[0].blocks);
  for (std::size_t k = 1; k < ranges.size(); ++k)
    tail.insert(tail.end(), std::make_move_iterator(ranges[k].blocks.begin()),
                std::make_move_iterator(ranges[k].blocks.end()));
  if (auto err = links_error(anchor, shared + 1, tail))
    return skipped("invalid chain: " + *err);
  out.blocks = std::make_shared<chain>(std::move(tail));
  return out;
}

verifier_actor::behavior_type verifier_behavior(verifier_actor::pointer self) {
  return {
    [self](verify_atom, const std::vector<std::string>& texts,
           const std::string& peer, std::uint64_t shared,
           const std::string& anchor) {
      self->quit(); // one job per verifier
      return verify_blocks(texts, peer, shared, anchor);
    },
  };
}

} // namespace

verifier_actor spawn_verifier(caf::actor_system& sys) {
  return sys.spawn<caf::detached>(verifier_behavior);
}

} // namespace dlt
