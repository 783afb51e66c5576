#include "actors/verifier.hpp"

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "model/json_blocks.hpp"

namespace dlt {
namespace {

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
  chain tail;
  tail.reserve(jsons.size());
  for (const auto& json : jsons) {
    auto b = block_from_text(json);
    if (!b)
      return skipped("block " + std::to_string(shared + tail.size() + 1) + ": "
                     + b.error());
    tail.push_back(std::move(*b));
  }
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
