#include "actors/verifier.hpp"

#include <algorithm>
#include <optional>
#include <system_error>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "model/json_blocks.hpp"

namespace dlt {
namespace {

/// Below this many blocks a list is parsed on the verifier's thread alone.
constexpr std::size_t parallel_from = 16384;
/// Threads that parse one list at most (the verifier's own among them).
constexpr unsigned max_parsers = 4;

/// Parses jsons[from, to) into tail[from, to): the first failure, if any,
/// as (position, why).
std::optional<std::pair<std::size_t, std::string>>
parse_range(const std::vector<std::string>& jsons, chain& tail,
            std::size_t from, std::size_t to) {
  for (auto i = from; i < to; ++i) {
    auto b = block_from_text(jsons[i]);
    if (!b)
      return std::make_pair(i, b.error());
    tail[i] = std::move(*b);
  }
  return std::nullopt;
}

verified_chain verify_blocks(const std::vector<std::string>& jsons,
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
  // of the blocks around it: a long list (a native sync) is cut into
  // ranges parsed side by side; the links are checked afterwards, in order.
  chain tail(jsons.size());
  auto parsers = std::max<std::size_t>(
    1, std::min<std::size_t>({std::thread::hardware_concurrency(), max_parsers,
                              jsons.size() / parallel_from}));
  std::vector<std::optional<std::pair<std::size_t, std::string>>> failed(parsers);
  std::vector<std::thread> helpers;
  auto bounds = [&](std::size_t k) { return jsons.size() * k / parsers; };
  auto parse = [&](std::size_t k) {
    failed[k] = parse_range(jsons, tail, bounds(k), bounds(k + 1));
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
  for (const auto& f : failed) // the earliest failure, as read in order
    if (f)
      return skipped("block " + std::to_string(shared + f->first + 1) + ": "
                     + f->second);
  if (auto err = links_error(anchor, shared + 1, tail))
    return skipped("invalid chain: " + *err);
  out.blocks = std::make_shared<chain>(std::move(tail));
  return out;
}

verifier_actor::behavior_type verifier_behavior(verifier_actor::pointer self) {
  return {
    [self](verify_atom, const std::vector<std::string>& jsons,
           const std::string& peer, std::uint64_t shared,
           const std::string& anchor) {
      self->quit(); // one job per verifier
      return verify_blocks(jsons, peer, shared, anchor);
    },
  };
}

} // namespace

verifier_actor spawn_verifier(caf::actor_system& sys) {
  return sys.spawn<caf::detached>(verifier_behavior);
}

} // namespace dlt
