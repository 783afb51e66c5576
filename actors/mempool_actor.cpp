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
  /// Taken by the miner, not yet confirmed in a block or given back.
  std::deque<std::string> in_flight;
  static inline const char* name = "mempool";
};

/// Removes the first occurrence of each counted transaction from `txs`.
void drop_counted(std::deque<std::string>& txs,
                  std::unordered_map<std::string_view, std::size_t>& drop) {
  std::deque<std::string> kept;
  for (auto& tx : txs) {
    auto it = drop.find(tx);
    if (it != drop.end() && it->second > 0)
      --it->second;
    else
      kept.push_back(std::move(tx));
  }
  txs = std::move(kept);
}

mempool_actor::behavior_type
mempool_behavior(mempool_actor::stateful_pointer<mempool_state> self) {
  return {
    [self](add_atom, std::string& tx) {
      auto& pending = self->state.pending;
      pending.push_back(std::move(tx));
      return static_cast<std::uint64_t>(pending.size());
    },
    [self](take_atom) {
      auto& st = self->state;
      for (auto& tx : st.pending)
        st.in_flight.push_back(std::move(tx));
      st.pending.clear();
      return tx_list(st.in_flight.begin(), st.in_flight.end());
    },
    [self](confirm_atom) { self->state.in_flight.clear(); },
    [self](restore_atom) {
      auto& st = self->state;
      st.pending.insert(st.pending.begin(),
                        std::make_move_iterator(st.in_flight.begin()),
                        std::make_move_iterator(st.in_flight.end()));
      st.in_flight.clear();
    },
    [self](reconcile_atom, tx_list& orphaned, const tx_list& included) {
      auto& pending = self->state.pending;
      if (!included.empty()) {
        std::unordered_map<std::string_view, std::size_t> drop;
        for (const auto& tx : included)
          ++drop[tx];
        // The batch first: those are the oldest, and a miner holding one of
        // them would otherwise put it into a second block.
        drop_counted(self->state.in_flight, drop);
        drop_counted(pending, drop);
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
