#include "actors/verifier.hpp"

#include <malloc.h>

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "model/json_parse.hpp"

namespace dlt {
namespace {

verified_chain skipped(verified_chain out, std::string result, std::string why) {
  out.result = std::move(result);
  out.why_skipped = std::move(why);
  return out;
}

verified_chain verify_body(const std::string& body, const std::string& peer,
                           std::uint64_t min_height) {
  verified_chain out;
  out.peer = peer;
  auto doc = parse_json(body);
  if (!doc)
    return skipped(std::move(out), "invalid",
                   "answer is not acceptable JSON: " + doc.error());
  if (!doc->is_object() || !doc->contains("chain"))
    return skipped(std::move(out), "invalid", "answer has no \"chain\"");
  auto& blocks = (*doc)["chain"];
  if (!blocks.is_array())
    return skipped(std::move(out), "invalid", "\"chain\" is not a list");
  if (blocks.size() <= min_height)
    return skipped(std::move(out), "not_longer",
                   "chain of " + std::to_string(blocks.size())
                     + " blocks is not longer than "
                     + std::to_string(min_height));
  auto parsed = chain_from_json(blocks);
  if (!parsed)
    return skipped(std::move(out), "invalid", "invalid chain: " + parsed.error());
  out.blocks = std::make_shared<chain>(std::move(*parsed));
  return out;
}

verified_chain verify_blocks(const std::vector<std::string>& jsons,
                             const std::string& peer, std::uint64_t shared,
                             const std::string& anchor) {
  verified_chain out;
  out.peer = peer;
  out.shared = shared;
  chain tail;
  tail.reserve(jsons.size());
  for (const auto& json : jsons) {
    auto doc = parse_json(json);
    auto b = doc ? block_from_json(*doc) : result<block>{failure{doc.error()}};
    if (!b)
      return skipped(std::move(out), "invalid",
                     "block " + std::to_string(shared + tail.size() + 1) + ": "
                       + b.error());
    tail.push_back(std::move(*b));
  }
  if (auto err = links_error(anchor, shared + 1, tail))
    return skipped(std::move(out), "invalid", "invalid chain: " + *err);
  out.blocks = std::make_shared<chain>(std::move(tail));
  return out;
}

verifier_actor::behavior_type verifier_behavior(verifier_actor::pointer self) {
  return {
    [self](verify_atom, const std::vector<std::string>& jsons,
           const std::string& peer, std::uint64_t shared,
           const std::string& anchor) {
      self->quit();
      return verify_blocks(jsons, peer, shared, anchor);
    },
    [self](verify_atom, const std::string& body, const std::string& peer,
           std::uint64_t min_height) {
      self->quit(); // one job per verifier
      auto result = verify_body(body, peer, min_height);
      // The parse tree just freed is about ten times the chain's JSON; hand
      // its pages back to the system rather than keep them mapped for good.
      // On this detached thread the time it takes blocks no other actor.
      // (Not under AddressSanitizer: its allocator replaces glibc's, whose
      // malloc_trim then crashes on arenas that were never set up.)
#ifndef __SANITIZE_ADDRESS__
      malloc_trim(0);
#endif
      return result;
    },
  };
}

} // namespace

verifier_actor spawn_verifier(caf::actor_system& sys) {
  return sys.spawn<caf::detached>(verifier_behavior);
}

} // namespace dlt
