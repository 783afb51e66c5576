// The mempool actor: sole owner of the pending transactions.
//
// Every transaction has a sequence number, its row in storage: new ones
// count up from the back, requeued ones count down from the front, so the
// stored rows sorted by number are the queue. A transaction is answered
// (201) only once its row is on disk.
//
// New transactions go to storage in batches: an add joins the unsynced
// batch and, if none is queued, a flush message goes to the back of the
// mailbox; every add before it goes out in one commit request. Before a
// batch is handed to the miner, or a reorg reconciled, the unsynced
// transactions are sent first, so storage never sees a block (or a
// reconciliation) before the rows it removes.

#include <algorithm>
#include <deque>
#include <string_view>
#include <unordered_map>
#include <utility>

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/spawn.hpp"

namespace dlt {
namespace {

struct mempool_state {
  std::deque<stored_tx> pending; // ascending seq
  /// Taken by the miner, not yet confirmed in a block or given back.
  std::deque<stored_tx> in_flight;
  std::int64_t back_seq = 0;  // last number given to a new transaction
  std::int64_t front_seq = 1; // last number given to a requeued one
  /// Counts reorgs reconciled; see batch_origin.
  std::uint64_t epoch = 0;
  storage_actor storage; // null when ephemeral
  /// Added, not yet sent to storage; each add's promise and its answer.
  ledger_change unsynced;
  std::vector<std::pair<caf::typed_response_promise<std::uint64_t>,
                        std::uint64_t>>
    unanswered;
  bool flush_queued = false;
  static inline const char* name = "mempool";
};

using mempool_ptr = mempool_actor::stateful_pointer<mempool_state>;

/// Sends the unsynced transactions to storage; their adds are answered
/// once stored.
void flush(mempool_ptr self) {
  auto& st = self->state;
  st.flush_queued = false;
  if (st.unsynced.txs_added.empty())
    return;
  auto waiting = std::move(st.unanswered);
  st.unanswered.clear();
  // No CAF timeout on the hottest path (each one wakes CAF's clock
  // thread): the edge's sweep bounds how long the client waits.
  self
    ->request(st.storage, caf::infinite, commit_atom::value,
              std::exchange(st.unsynced, ledger_change{}))
    .then(
      [waiting](std::uint64_t) mutable {
        for (auto& [rp, n] : waiting)
          rp.deliver(n);
      },
      [waiting](caf::error& err) mutable {
        for (auto& w : waiting)
          w.first.deliver(err);
      });
}

/// Removes the first occurrence of each counted transaction from `txs`;
/// appends the numbers of the removed ones to `removed`.
void drop_counted(std::deque<stored_tx>& txs,
                  std::unordered_map<std::string_view, std::size_t>& drop,
                  std::vector<std::int64_t>& removed) {
  std::deque<stored_tx> kept;
  for (auto& tx : txs) {
    auto it = drop.find(tx.json);
    if (it != drop.end() && it->second > 0) {
      --it->second;
      removed.push_back(tx.seq);
    } else {
      kept.push_back(std::move(tx));
    }
  }
  txs = std::move(kept);
}

mempool_actor::behavior_type mempool_behavior(mempool_ptr self,
                                              std::vector<stored_tx> stored,
                                              storage_actor storage) {
  auto& st = self->state;
  st.storage = std::move(storage);
  for (auto& tx : stored) {
    st.back_seq = std::max(st.back_seq, tx.seq);
    st.front_seq = std::min(st.front_seq, tx.seq);
    st.pending.push_back(std::move(tx));
  }
  return {
    [self](add_atom, std::string& json) -> caf::result<std::uint64_t> {
      auto& st = self->state;
      st.pending.push_back(stored_tx{++st.back_seq, std::move(json)});
      auto n = static_cast<std::uint64_t>(st.pending.size());
      if (!st.storage)
        return n;
      st.unsynced.txs_added.push_back(st.pending.back());
      auto rp = self->make_response_promise<std::uint64_t>();
      st.unanswered.emplace_back(rp, n);
      if (!st.flush_queued) {
        st.flush_queued = true;
        self->send(self, flush_atom::value);
      }
      return rp;
    },
    [self](flush_atom) { flush(self); },
    [self](take_atom) {
      auto& st = self->state;
      flush(self); // the rows before the block that removes them
      for (auto& tx : st.pending)
        st.in_flight.push_back(std::move(tx));
      st.pending.clear();
      tx_batch batch;
      batch.origin.epoch = st.epoch;
      batch.txs.reserve(st.in_flight.size());
      batch.origin.seqs.reserve(st.in_flight.size());
      for (const auto& tx : st.in_flight) {
        batch.txs.push_back(tx.json);
        batch.origin.seqs.push_back(tx.seq);
      }
      return batch;
    },
    [self](confirm_atom) { self->state.in_flight.clear(); },
    [self](restore_atom) {
      // Back in place: requeued transactions may have gone in front of the
      // batch meanwhile, so merge by number.
      auto& st = self->state;
      std::deque<stored_tx> merged;
      std::merge(std::make_move_iterator(st.in_flight.begin()),
                 std::make_move_iterator(st.in_flight.end()),
                 std::make_move_iterator(st.pending.begin()),
                 std::make_move_iterator(st.pending.end()),
                 std::back_inserter(merged),
                 [](const stored_tx& a, const stored_tx& b) {
                   return a.seq < b.seq;
                 });
      st.pending = std::move(merged);
      st.in_flight.clear();
    },
    [self](reconcile_atom, tx_list& orphaned, const tx_list& included) {
      auto& st = self->state;
      flush(self); // the rows before the reconciliation that removes some
      mempool_delta delta;
      if (!included.empty()) {
        std::unordered_map<std::string_view, std::size_t> drop;
        for (const auto& tx : included)
          ++drop[tx];
        // The batch first: those are the oldest, and a miner holding one of
        // them would otherwise put it into a second block.
        drop_counted(st.in_flight, drop, delta.change.txs_removed);
        drop_counted(st.pending, drop, delta.change.txs_removed);
      }
      // In front, in their order: numbered down from the front.
      st.front_seq -= static_cast<std::int64_t>(orphaned.size());
      auto seq = st.front_seq;
      std::deque<stored_tx> requeued;
      for (auto& tx : orphaned) {
        requeued.push_back(stored_tx{seq++, std::move(tx)});
        delta.change.txs_added.push_back(requeued.back());
      }
      st.pending.insert(st.pending.begin(),
                        std::make_move_iterator(requeued.begin()),
                        std::make_move_iterator(requeued.end()));
      delta.epoch = ++st.epoch;
      return delta;
    },
    [self](size_atom) {
      return static_cast<std::uint64_t>(self->state.pending.size());
    },
  };
}

} // namespace

mempool_actor spawn_mempool(caf::actor_system& sys,
                            std::vector<stored_tx> pending,
                            storage_actor storage) {
  return sys.spawn(mempool_behavior, std::move(pending), std::move(storage));
}

} // namespace dlt
