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
//
// The mempool is bounded (ledger_limits): a full one refuses new
// transactions, and the miner's batch takes only what fits into a block.

#include <algorithm>
#include <deque>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/event_json.hpp"
#include "actors/log.hpp"
#include "actors/spawn.hpp"

namespace dlt {
namespace {

/// Transactions an event lists (the hub keeps the last few anyway).
constexpr std::size_t recent_in_event = 20;

struct mempool_state {
  std::deque<stored_tx> pending; // ascending seq
  /// Taken by the miner, not yet confirmed in a block or given back.
  std::deque<stored_tx> in_flight;
  /// Canonical bytes of `pending`, `in_flight` and `mined_unstored`.
  std::uint64_t bytes = 0;
  std::int64_t back_seq = 0;  // last number given to a new transaction
  std::int64_t front_seq = 1; // last number given to a requeued one
  /// Counts reorgs reconciled; see batch_origin.
  std::uint64_t epoch = 0;
  /// Counts the changes reported (mempool_changed::version).
  std::uint64_t changes = 0;
  /// Taken in a block by the chain actor, not yet known to be stored (see
  /// stored_atom): still listed and counted as pending, so a client never
  /// finds a transaction neither pending nor in GET /chain; but out of
  /// reach of reconcile, which learns of them from the chain (they are in
  /// its blocks, or orphaned and requeued).
  std::deque<stored_tx> mined_unstored;
  ledger_limits limits;
  storage_actor storage; // null when ephemeral
  event_hub_actor hub;
  /// Added, not yet sent to storage; each add's promise and its answer.
  ledger_change unsynced;
  std::vector<std::pair<caf::typed_response_promise<std::uint64_t>,
                        std::uint64_t>>
    unanswered;
  bool flush_queued = false;
  static inline const char* name = "mempool";

  std::uint64_t held() const {
    return pending.size() + in_flight.size() + mined_unstored.size();
  }

  /// Forgets the transactions confirmed mined; answers how many.
  std::uint64_t drop_mined() {
    for (const auto& tx : mined_unstored)
      bytes -= tx.json.size();
    return std::exchange(mined_unstored, {}).size();
  }
};

using mempool_ptr = mempool_actor::stateful_pointer<mempool_state>;

void report(mempool_ptr self, mempool_changed change) {
  if (!self->state.hub)
    return;
  auto& st = self->state;
  change.pending = st.held();
  change.version = ++st.changes;
  self->send(self->state.hub, node_event{std::move(change)});
}

/// What a batch of adds tells the hub: how many, and the last few that
/// are small enough to show (the hub keeps its events small).
mempool_changed added_event(const std::vector<stored_tx>& added) {
  mempool_changed e;
  e.added = added.size();
  for (auto it = added.rbegin();
       it != added.rend() && e.recent.size() < recent_in_event; ++it)
    if (it->json.size() <= max_event_transaction_bytes)
      e.recent.push_back(it->json);
  std::reverse(e.recent.begin(), e.recent.end());
  return e;
}

/// Sends the unsynced transactions to storage; their adds are answered,
/// and reported to the hub, once stored.
void flush(mempool_ptr self) {
  auto& st = self->state;
  st.flush_queued = false;
  if (st.unsynced.txs_added.empty())
    return;
  auto event = added_event(st.unsynced.txs_added);
  if (!st.storage) {
    st.unsynced.txs_added.clear();
    return report(self, std::move(event));
  }
  auto waiting = std::move(st.unanswered);
  st.unanswered.clear();
  self
    ->request(st.storage, ask_timeout, commit_atom::value,
              std::exchange(st.unsynced, ledger_change{}))
    .then(
      [self, waiting, event](std::uint64_t) mutable {
        report(self, std::move(event));
        for (auto& [rp, n] : waiting)
          rp.deliver(n);
      },
      [waiting](caf::error& err) mutable {
        // Held in memory already: whether the rows reached the disk is
        // what cannot be told.
        auto unknown = make_node_error(
          node_error::outcome_unknown,
          "storing the transaction failed (" + error_text(err)
            + "); it may or may not be kept");
        for (auto& w : waiting)
          w.first.deliver(unknown);
      });
}

/// Removes the first occurrence of each counted transaction from `txs`;
/// appends the numbers of the removed ones to `removed`, returns their bytes.
std::uint64_t drop_counted(std::deque<stored_tx>& txs,
                           std::unordered_map<std::string_view, std::size_t>& drop,
                           std::vector<std::int64_t>& removed) {
  std::deque<stored_tx> kept;
  std::uint64_t bytes = 0;
  for (auto& tx : txs) {
    auto it = drop.find(tx.json);
    if (it != drop.end() && it->second > 0) {
      --it->second;
      removed.push_back(tx.seq);
      bytes += tx.json.size();
    } else {
      kept.push_back(std::move(tx));
    }
  }
  txs = std::move(kept);
  return bytes;
}

caf::result<std::uint64_t> add(mempool_ptr self, std::string& json) {
  auto& st = self->state;
  if (json.size() > st.limits.max_transaction_bytes())
    return make_node_error(
      node_error::too_large,
      "Transaction too large: " + std::to_string(json.size())
        + " bytes in canonical form, a block carries at most "
        + std::to_string(st.limits.max_transaction_bytes()));
  if (st.held() >= st.limits.max_pending
      || st.bytes + json.size() > st.limits.max_pending_bytes)
    return make_node_error(
      node_error::full, "The mempool is full (" + std::to_string(st.held())
                          + " transactions pending); try again later");
  st.bytes += json.size();
  st.pending.push_back(stored_tx{++st.back_seq, std::move(json)});
  auto n = static_cast<std::uint64_t>(st.held());
  st.unsynced.txs_added.push_back(st.pending.back());
  if (!st.flush_queued) {
    st.flush_queued = true;
    self->send(self, flush_atom::value);
  }
  if (!st.storage)
    return n;
  auto rp = self->make_response_promise<std::uint64_t>();
  st.unanswered.emplace_back(rp, n);
  return rp;
}

/// Moves the oldest pending transactions that fit into one block to the
/// in-flight batch (at least one, so an oversized stored transaction from an
/// older configuration cannot block the queue forever).
tx_batch take(mempool_ptr self) {
  auto& st = self->state;
  flush(self); // the rows before the block that removes them
  // The in-flight batch is empty here unless a previous mine failed to
  // confirm or give it back; it is handed out again first.
  std::uint64_t bytes = 0;
  for (const auto& tx : st.in_flight)
    bytes += tx.json.size() + 2;
  auto budget = st.limits.max_transaction_bytes();
  while (!st.pending.empty()
         && st.in_flight.size() < st.limits.max_block_transactions) {
    auto size = st.pending.front().json.size() + 2;
    if (!st.in_flight.empty() && bytes + size > budget)
      break;
    if (st.in_flight.empty() && size > budget)
      log("mempool", "a pending transaction of ", size,
          " bytes exceeds --max-block-bytes; it is mined alone");
    bytes += size;
    st.in_flight.push_back(std::move(st.pending.front()));
    st.pending.pop_front();
  }
  tx_batch batch;
  batch.origin.epoch = st.epoch;
  batch.txs.reserve(st.in_flight.size());
  batch.origin.seqs.reserve(st.in_flight.size());
  for (const auto& tx : st.in_flight) {
    batch.txs.push_back(tx.json);
    batch.origin.seqs.push_back(tx.seq);
  }
  return batch;
}

mempool_delta reconcile(mempool_ptr self, tx_list& orphaned,
                        const tx_list& included) {
  auto& st = self->state;
  flush(self); // the rows before the reconciliation that removes some
  mempool_delta delta;
  if (!included.empty()) {
    std::unordered_map<std::string_view, std::size_t> drop;
    for (const auto& tx : included)
      ++drop[tx];
    // The batch first: those are the oldest, and a miner holding one of
    // them would otherwise put it into a second block.
    st.bytes -= drop_counted(st.in_flight, drop, delta.change.txs_removed);
    st.bytes -= drop_counted(st.pending, drop, delta.change.txs_removed);
  }
  // In front, in their order: numbered down from the front. Requeued
  // transactions were held before, so the bounds do not refuse them.
  st.front_seq -= static_cast<std::int64_t>(orphaned.size());
  auto seq = st.front_seq;
  std::deque<stored_tx> requeued;
  for (auto& tx : orphaned) {
    st.bytes += tx.size();
    requeued.push_back(stored_tx{seq++, std::move(tx)});
    delta.change.txs_added.push_back(requeued.back());
  }
  st.pending.insert(st.pending.begin(),
                    std::make_move_iterator(requeued.begin()),
                    std::make_move_iterator(requeued.end()));
  delta.epoch = ++st.epoch;
  // Blocks taken before this reorg are stored before it (one storage
  // actor, in order): they are reported with it, once it is stored.
  delta.event.mined = delta.change.txs_removed.size() + st.drop_mined();
  delta.event.requeued = requeued.size();
  delta.event.pending = st.held();
  delta.event.version = ++st.changes;
  return delta;
}

mempool_actor::behavior_type mempool_behavior(mempool_ptr self,
                                              std::vector<stored_tx> stored,
                                              storage_actor storage,
                                              event_hub_actor hub,
                                              ledger_limits limits) {
  auto& st = self->state;
  st.storage = std::move(storage);
  st.hub = std::move(hub);
  st.limits = limits;
  for (auto& tx : stored) {
    st.back_seq = std::max(st.back_seq, tx.seq);
    st.front_seq = std::min(st.front_seq, tx.seq);
    st.bytes += tx.json.size();
    st.pending.push_back(std::move(tx));
  }
  report(self, {}); // the state subscribers start from
  return {
    [self](add_atom, std::string& json) { return add(self, json); },
    [self](flush_atom) { flush(self); },
    [self](take_atom) { return take(self); },
    [self](confirm_atom, const std::vector<std::int64_t>& seqs) {
      // By number: a batch confirmed late (the miner's append timed out)
      // must not take a later batch with it.
      auto& st = self->state;
      std::unordered_set<std::int64_t> gone(seqs.begin(), seqs.end());
      std::deque<stored_tx> kept;
      for (auto& tx : st.in_flight) {
        if (gone.count(tx.seq)) {
          st.mined_unstored.push_back(std::move(tx));
        } else {
          kept.push_back(std::move(tx));
        }
      }
      st.in_flight = std::move(kept);
    },
    [self](stored_atom) {
      auto& st = self->state;
      if (st.mined_unstored.empty())
        return; // a reorg reported them already
      mempool_changed e;
      e.mined = st.drop_mined();
      report(self, std::move(e));
    },
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
      return reconcile(self, orphaned, included);
    },
    [self](size_atom) {
      return static_cast<std::uint64_t>(self->state.held());
    },
    [self](pending_atom, std::uint64_t limit) {
      auto& st = self->state;
      pending_list out;
      out.pending = st.held();
      for (const auto* q : {&st.mined_unstored, &st.in_flight, &st.pending})
        for (const auto& tx : *q) {
          if (out.first.size() >= limit)
            return out;
          out.first.push_back(tx.json);
        }
      return out;
    },
  };
}

} // namespace

std::uint64_t ledger_limits::max_transaction_bytes() const {
  // A block's own bytes besides its transactions: its index, previous
  // hash, timestamp and keys take under 200 bytes.
  constexpr std::uint64_t envelope = 512;
  return max_block_bytes > 2 * envelope ? max_block_bytes - envelope
                                        : max_block_bytes / 2;
}

mempool_actor spawn_mempool(caf::actor_system& sys,
                            std::vector<stored_tx> pending,
                            storage_actor storage, event_hub_actor hub,
                            ledger_limits limits) {
  return sys.spawn(mempool_behavior, std::move(pending), std::move(storage),
                   std::move(hub), limits);
}

} // namespace dlt
