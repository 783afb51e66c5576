#include "actors/verifier.hpp"

#include <algorithm>
#include <optional>

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "model/json_blocks.hpp"

namespace dlt {
namespace {

/// Room made up front for at most this many blocks (address space: what
/// no block fills is never touched; ~26 MB whatever height a peer claims).
/// A longer pull grows the list.
constexpr std::uint64_t max_room = 1 << 17;

struct verifier_state {
  std::string peer;
  std::uint64_t shared = 0; // the last block both hold
  std::string anchor;       // its hash
  /// The blocks parsed so far, in order, straight into one list: moving
  /// them from one list into the next cost as much as parsing them.
  chain blocks;
  /// Why the earliest bad block is bad (empty: none so far).
  std::string failed;
  static inline const char* name = "verifier";
};

using verifier_ptr = verifier_actor::stateful_pointer<verifier_state>;

/// Parses one answer onto the blocks before it; each string is freed once
/// read, so an answer's text and its blocks are not both held whole. (Two
/// threads per answer were tried: the transfer of the next answer needs
/// the other core, and syncs took longer.)
void take_answer(verifier_state& st, std::vector<std::string>& texts) {
  for (auto& text : texts) {
    if (!st.failed.empty())
      return; // the earliest bad block is named already
    // Errors name blocks by their place in the whole chain (counted before
    // the list is moved into the call).
    auto first = st.shared + st.blocks.size() + 1;
    auto got = blocks_from_list_body(text, first, std::move(st.blocks));
    if (!got) {
      st.failed = got.error();
      st.blocks = {};
      return;
    }
    st.blocks = std::move(*got);
    std::string{}.swap(text);
  }
}

verified_chain verdict(verifier_state& st) {
  verified_chain out;
  out.peer = st.peer;
  out.shared = st.shared;
  auto err = !st.failed.empty()
               ? std::optional<std::string>{st.failed}
               : links_error(st.anchor, st.shared + 1, st.blocks);
  if (err) {
    out.result = "invalid";
    out.why_skipped = st.failed.empty() ? "invalid chain: " + *err : *err;
  } else {
    out.blocks = std::make_shared<chain>(std::move(st.blocks));
  }
  return out;
}

verifier_actor::behavior_type
verifier_behavior(verifier_ptr self, std::string peer, std::uint64_t shared,
                  std::string anchor, std::uint64_t expected) {
  auto& st = self->state;
  st.peer = std::move(peer);
  st.shared = shared;
  st.anchor = std::move(anchor);
  st.blocks.reserve(std::min(expected, max_room));
  return {
    [self](verify_atom, std::vector<std::string>& texts) {
      take_answer(self->state, texts);
    },
    [self](verify_atom) {
      self->quit(); // one pull per verifier
      return verdict(self->state);
    },
  };
}

} // namespace

verifier_actor spawn_verifier(caf::actor_system& sys, std::string peer,
                              std::uint64_t shared, std::string anchor,
                              std::uint64_t expected) {
  return sys.spawn<caf::detached>(verifier_behavior, std::move(peer), shared,
                                  std::move(anchor), expected);
}

} // namespace dlt
