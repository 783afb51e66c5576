// The mempool actor: sole owner of the pending transactions.

#include <deque>
#include <string_view>
#include <unordered_map>

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/spawn.hpp"

namespace dlt {
namespace {

struct mempool_state {
  std::deque<std::string> pending;
  static inline const char* name = "mempool";
};

mempool_actor::behavior_type
mempool_behavior(mempool_actor::stateful_pointer<mempool_state> self) {
  return {
    [self](add_atom, std::string& tx) {
      auto& pending = self->state.pending;
      pending.push_back(std::move(tx));
      return static_cast<std::uint64_t>(pending.size());
    },
    [self](take_atom) {
      auto& pending = self->state.pending;
      tx_list out(std::make_move_iterator(pending.begin()),
                  std::make_move_iterator(pending.end()));
      pending.clear();
      return out;
    },
    [self](restore_atom, tx_list& txs) {
      auto& pending = self->state.pending;
      pending.insert(pending.begin(), std::make_move_iterator(txs.begin()),
                     std::make_move_iterator(txs.end()));
    },
    [self](reconcile_atom, tx_list& orphaned, const tx_list& included) {
      auto& pending = self->state.pending;
      if (!included.empty()) {
        // One pass: drop the first occurrence of each included transaction.
        std::unordered_map<std::string_view, std::size_t> drop;
        for (const auto& tx : included)
          ++drop[tx];
        std::deque<std::string> kept;
        for (auto& tx : pending) {
          auto it = drop.find(tx);
          if (it != drop.end() && it->second > 0)
            --it->second;
          else
            kept.push_back(std::move(tx));
        }
        pending = std::move(kept);
      }
      pending.insert(pending.begin(), std::make_move_iterator(orphaned.begin()),
                     std::make_move_iterator(orphaned.end()));
    },
    [self](size_atom) {
      return static_cast<std::uint64_t>(self->state.pending.size());
    },
  };
}

} // namespace

mempool_actor spawn_mempool(caf::actor_system& sys) {
  return sys.spawn(mempool_behavior);
}

} // namespace dlt
