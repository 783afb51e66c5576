// The chain actor: sole owner of the ledger. Every change goes through here,
// one message at a time, so appends, replacements and pops never interleave.

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <unordered_set>

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
  /// Hashes of every block this node mined. Only their transactions are
  /// requeued when orphaned, so no two nodes requeue the same transaction.
  /// Kept after an orphaning: the block may come back in an adopted chain
  /// and be orphaned again, and this node stays responsible for it.
  std::unordered_set<std::string> own;

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
      st.own.insert(b->hash);
      st.changed();
      return true;
    },
    [self](replace_atom, const chain_ptr& candidate, bool collect_orphans) {
      auto& st = self->state;
      // Longest valid chain strictly longer than ours wins, whatever its
      // genesis. The candidate was verified already; checking its links
      // again is cheap (hashes are precomputed) and keeps the invariant.
      if (candidate && candidate->size() > st.blocks.size()
          && !validation_error(*candidate)) {
        reorg_transactions moved;
        if (collect_orphans)
          moved = reorg(st.blocks, *candidate, [&](const block& b) {
            return st.own.count(b.hash) > 0;
          });
        st.blocks = std::move(*candidate);
        st.valid = true;
        st.changed();
        log("chain", "adopted a chain of ", st.blocks.size(), " blocks",
            collect_orphans ? ", " + std::to_string(moved.orphaned.size())
                                + " orphaned transactions requeued"
                            : std::string{});
        return consensus_outcome{true, st.view(), std::move(moved.orphaned),
                                 std::move(moved.included)};
      }
      return consensus_outcome{false, st.view(), {}, {}};
    },
    [self](pop_atom) -> block_ptr {
      auto& st = self->state;
      if (st.blocks.size() <= 1)
        return nullptr; // never remove the genesis block
      st.own.erase(st.blocks.back().hash);
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
