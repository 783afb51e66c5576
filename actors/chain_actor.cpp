// The chain actor: sole owner of the ledger. Every change goes through here,
// one message at a time, so appends, replacements and pops never interleave.

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/log.hpp"
#include "actors/spawn.hpp"

namespace dlt {
namespace {

struct chain_state {
  chain blocks;
  /// The canonical block list, built lazily once per chain state and shared
  /// with every response until the chain changes.
  std::shared_ptr<const std::string> cached_json;
  /// Whether `blocks` passed validation (kept as an invariant: every change
  /// is checked before it is made).
  bool valid = false;

  static inline const char* name = "chain";

  chain_view view() {
    if (!cached_json)
      cached_json = std::make_shared<const std::string>(chain_json_array(blocks));
    return {cached_json, blocks.size(), valid};
  }

  void changed() {
    cached_json.reset();
  }
};

chain_actor::behavior_type
chain_behavior(chain_actor::stateful_pointer<chain_state> self,
               double genesis_ts) {
  auto& st = self->state;
  st.blocks.push_back(make_genesis(genesis_ts));
  st.valid = !validation_error(st.blocks);
  return {
    [self](snapshot_atom) { return self->state.view(); },
    [self](height_atom) {
      return static_cast<std::uint64_t>(self->state.blocks.size());
    },
    [self](tip_atom) {
      const auto& last = self->state.blocks.back();
      return chain_tip{last.index, last.hash, self->state.valid};
    },
    [self](append_atom, const block_ptr& b) {
      auto& st = self->state;
      const auto& last = st.blocks.back();
      if (!b || b->index != last.index + 1 || b->previous_hash != last.hash)
        return false;
      st.blocks.push_back(*b);
      st.changed();
      return true;
    },
    [self](replace_atom, const chain_ptr& candidate) {
      auto& st = self->state;
      // Longest valid chain strictly longer than ours wins, whatever its
      // genesis. The candidate was verified already; checking its links
      // again is cheap (hashes are precomputed) and keeps the invariant.
      if (candidate && candidate->size() > st.blocks.size()
          && !validation_error(*candidate)) {
        st.blocks = std::move(*candidate);
        st.valid = true;
        st.changed();
        log("chain", "adopted a chain of ", st.blocks.size(), " blocks");
        return consensus_outcome{true, st.view()};
      }
      return consensus_outcome{false, st.view()};
    },
    [self](pop_atom) -> block_ptr {
      auto& st = self->state;
      if (st.blocks.size() <= 1)
        return nullptr; // never remove the genesis block
      auto popped = std::make_shared<const block>(std::move(st.blocks.back()));
      st.blocks.pop_back();
      st.changed();
      return popped;
    },
  };
}

} // namespace

chain_actor spawn_chain(caf::actor_system& sys, double genesis_ts) {
  return sys.spawn(chain_behavior, genesis_ts);
}

} // namespace dlt
