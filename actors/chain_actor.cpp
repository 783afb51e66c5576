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

/// Blocks per JSON segment, by size: appends copy at most this much.
constexpr std::size_t segment_bytes = 64 * 1024;

struct chain_state {
  chain blocks;
  /// The canonical block list in segments (see chain_json), kept in step
  /// with `blocks`; segment_first[i] is the index of segment i's first block.
  std::vector<std::shared_ptr<const std::string>> segments;
  std::vector<std::size_t> segment_first;
  /// The published view of the current state; null when stale.
  std::shared_ptr<const chain_json> cached_json;
  std::vector<chain_watcher_actor> watchers;
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
      cached_json = std::make_shared<const chain_json>(chain_json{segments});
    return {cached_json, blocks.size(), valid};
  }

  /// Adds the last block of `blocks` to the segments.
  void segment_append() {
    const auto& json = blocks.back().json;
    if (segments.empty() || segments.back()->size() >= segment_bytes) {
      segments.push_back(std::make_shared<const std::string>(json));
      segment_first.push_back(blocks.size() - 1);
      return;
    }
    auto grown = std::make_shared<std::string>();
    grown->reserve(segments.back()->size() + 2 + json.size());
    *grown = *segments.back();
    *grown += ", ";
    *grown += json;
    segments.back() = std::move(grown);
  }

  /// Rebuilds the last segment after the last block was removed.
  void segment_pop() {
    if (segment_first.back() >= blocks.size()) {
      segments.pop_back();
      segment_first.pop_back();
      return;
    }
    auto rebuilt = std::make_shared<std::string>();
    for (auto i = segment_first.back(); i < blocks.size(); ++i) {
      if (i > segment_first.back())
        *rebuilt += ", ";
      *rebuilt += blocks[i].json;
    }
    segments.back() = std::move(rebuilt);
  }

  void segment_rebuild() {
    segments.clear();
    segment_first.clear();
    std::size_t i = 0;
    while (i < blocks.size()) {
      auto seg = std::make_shared<std::string>(blocks[i].json);
      segment_first.push_back(i);
      for (++i; i < blocks.size() && seg->size() < segment_bytes; ++i) {
        *seg += ", ";
        *seg += blocks[i].json;
      }
      segments.push_back(std::move(seg));
    }
  }
};

using chain_ptr_self = chain_actor::stateful_pointer<chain_state>;

/// Publishes the new state to every watcher. Called before the request that
/// changed the chain is answered, so whoever hears of the change through
/// that answer reaches watchers after the new state did.
void changed(chain_ptr_self self) {
  auto& st = self->state;
  st.cached_json.reset();
  if (st.watchers.empty())
    return;
  auto v = st.view();
  for (const auto& w : st.watchers)
    self->send(w, v);
}

chain_actor::behavior_type
chain_behavior(chain_ptr_self self,
               double genesis_ts) {
  auto& st = self->state;
  st.blocks.push_back(make_genesis(genesis_ts));
  st.valid = !validation_error(st.blocks);
  st.segment_rebuild();
  return {
    [self](subscribe_atom, chain_watcher_actor& w) {
      self->send(w, self->state.view());
      self->state.watchers.push_back(std::move(w));
    },
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
      st.segment_append();
      changed(self);
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
        st.segment_rebuild();
        changed(self);
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
      st.segment_pop();
      changed(self);
      return popped;
    },
  };
}

} // namespace

chain_actor spawn_chain(caf::actor_system& sys, double genesis_ts) {
  return sys.spawn(chain_behavior, genesis_ts);
}

} // namespace dlt
