// The chain actor: sole owner of the ledger. Every change goes through here,
// one message at a time, so appends, replacements and pops never interleave.
// A change takes effect in memory at once (the next append builds on it) and
// is answered and published once storage has it on disk.

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include <algorithm>
#include <iterator>
#include <tuple>
#include <unordered_set>

#include "actors/log.hpp"
#include "actors/spawn.hpp"

namespace dlt {
namespace {

/// Blocks per JSON segment, by size: appends copy at most this much.
constexpr std::size_t segment_bytes = 64 * 1024;

/// Bounds on what a native peer may ask for at once.
constexpr std::size_t max_locator = 256;
constexpr std::uint64_t max_transfer = 100000;

struct chain_state {
  chain blocks;
  /// The canonical block list in segments (see chain_json), kept in step
  /// with `blocks`; segment_first[i] is the index of segment i's first block.
  std::vector<std::shared_ptr<const std::string>> segments;
  std::vector<std::size_t> segment_first;
  /// The published view of the current state; null when stale.
  std::shared_ptr<const chain_json> cached_json;
  std::vector<chain_watcher_actor> watchers;
  storage_actor storage; // null when ephemeral
  mempool_actor mempool;
  /// The mempool's epoch after the last reorg it was reconciled with: a
  /// batch taken before it may hold transactions the chain now carries.
  std::uint64_t mempool_epoch = 0;
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
    return {cached_json, blocks.size(), valid, blocks.back().hash,
            blocks.back().json.size()};
  }

  /// Adds the last block of `blocks` to the segments.
  void segment_append() {
    cached_json.reset();
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
    cached_json.reset();
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
    cached_json.reset();
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

/// Makes `change` durable, then publishes the state it led to (`view`) to
/// every watcher and calls `done`; `failed` gets the storage error instead.
/// Watchers thus only ever see stored states, and always before whoever
/// hears of the change through its answer.
template <class Done, class Failed>
void commit(chain_ptr_self self, ledger_change change, chain_view view,
            Done done, Failed failed) {
  auto publish = [self, view, done]() mutable {
    for (const auto& w : self->state.watchers)
      self->send(w, view);
    done();
  };
  if (!self->state.storage) {
    publish();
    return;
  }
  self->request(self->state.storage, ask_timeout, commit_atom::value,
                std::move(change))
    .then([publish](std::uint64_t) mutable { publish(); },
          [failed](caf::error& err) mutable { failed(err); });
}

/// commit() answering `rp` with `answer` once stored.
template <class T>
void commit_and_answer(chain_ptr_self self, ledger_change change,
                       caf::typed_response_promise<T> rp, T answer) {
  commit(
    self, std::move(change), self->state.view(),
    [rp, answer = std::move(answer)]() mutable { rp.deliver(std::move(answer)); },
    [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
}

/// Appends `b`, which extends our tip, and answers true once it is stored
/// together with `change`.
caf::result<bool> append(chain_ptr_self self, const block_ptr& b,
                         ledger_change change) {
  auto& st = self->state;
  st.blocks.push_back(*b);
  st.segment_append();
  change.blocks.push_back(b);
  auto rp = self->make_response_promise<bool>();
  commit_and_answer(self, std::move(change), rp, true);
  return rp;
}

/// The blocks of the current chain from index `first` (1-based) on, as
/// storage takes them.
std::vector<std::shared_ptr<const block>> blocks_from(const chain& blocks,
                                                      std::size_t first) {
  std::vector<std::shared_ptr<const block>> out;
  out.reserve(blocks.size() - (first - 1));
  for (auto i = first - 1; i < blocks.size(); ++i)
    out.push_back(std::make_shared<const block>(blocks[i]));
  return out;
}

/// Our first `shared` blocks followed by `tail` become the chain, when that
/// is strictly longer than ours and `tail` links onto block `shared`.
/// Whatever `tail` begins with that we hold already is skipped, so memory
/// and storage only change after the real fork point.
caf::result<consensus_outcome> adopt(chain_ptr_self self, std::uint64_t shared,
                                     chain tail, bool collect_orphans) {
  auto& st = self->state;
  auto refuse = [&](const std::string& why) {
    log("chain", "not adopting a peer's chain: ", why);
    return consensus_outcome{false, st.view()};
  };
  if (shared > st.blocks.size() || tail.empty()
      || shared + tail.size() <= st.blocks.size())
    return consensus_outcome{false, st.view()}; // not longer (any more)
  if (auto err = links_error(shared == 0 ? std::string{genesis_previous_hash}
                                         : st.blocks[shared - 1].hash,
                             shared + 1, tail))
    return refuse(*err);
  std::size_t skip = 0;
  while (skip < tail.size() && shared + skip < st.blocks.size()
         && st.blocks[shared + skip].hash == tail[skip].hash)
    ++skip;
  shared += skip;
  tail.erase(tail.begin(), tail.begin() + static_cast<std::ptrdiff_t>(skip));

  reorg_transactions moved;
  if (collect_orphans) {
    // Both sides from the last shared block on (reorg() skips position 0,
    // a genesis block or this shared one).
    auto from = shared == 0 ? 0 : shared - 1;
    chain old_side(st.blocks.begin() + static_cast<std::ptrdiff_t>(from),
                   st.blocks.end());
    chain new_side;
    if (shared > 0)
      new_side.push_back(st.blocks[shared - 1]);
    new_side.insert(new_side.end(), tail.begin(), tail.end());
    moved = reorg(old_side, new_side, [&](const block& b) {
      return st.own.count(b.hash) > 0;
    });
  }
  auto dropped = st.blocks.size() - shared;
  auto added = tail.size();
  if (dropped + added <= 16) {
    // A block or a few: touch only the last segment.
    while (st.blocks.size() > shared) {
      st.blocks.pop_back();
      st.segment_pop();
    }
    for (auto& b : tail) {
      st.blocks.push_back(std::move(b));
      st.segment_append();
    }
  } else {
    st.blocks.resize(shared);
    std::move(tail.begin(), tail.end(), std::back_inserter(st.blocks));
    st.segment_rebuild();
  }
  st.valid = true;
  log("chain", "adopted a chain of ", st.blocks.size(), " blocks (", added,
      " new after block ", shared, ")",
      collect_orphans ? ", " + std::to_string(moved.orphaned.size())
                          + " orphaned transactions requeued"
                      : std::string{});
  // Storage rewrites only what follows the shared blocks.
  ledger_change change;
  change.truncate_from = shared + 1;
  change.blocks = blocks_from(st.blocks, shared + 1);
  auto rp = self->make_response_promise<consensus_outcome>();
  if (moved.orphaned.empty() && moved.included.empty()) {
    commit_and_answer(self, std::move(change), rp,
                      consensus_outcome{true, st.view()});
    return rp;
  }
  // The mempool's side of the reorg is stored in the same commit. Until
  // it answers, this actor takes no other message (await), so no block
  // is appended from a batch that still holds what the new chain has.
  self
    ->request(st.mempool, ask_timeout, reconcile_atom::value,
              std::move(moved.orphaned), std::move(moved.included))
    .await(
      [self, rp, change](mempool_delta& delta) mutable {
        auto& st = self->state;
        st.mempool_epoch = delta.epoch;
        change.merge_pending(std::move(delta.change));
        commit_and_answer(self, std::move(change), rp,
                          consensus_outcome{true, st.view()});
      },
      [self, rp, change](caf::error& err) mutable {
        log("chain", "the mempool was not reconciled with the new chain: ",
            self->system().render(err));
        commit_and_answer(self, std::move(change), rp,
                          consensus_outcome{true, self->state.view()});
      });
  return rp;
}

chain_actor::behavior_type
chain_behavior(chain_ptr_self self, chain blocks, std::vector<std::string> own,
               storage_actor storage, mempool_actor mempool) {
  auto& st = self->state;
  st.storage = std::move(storage);
  st.mempool = std::move(mempool);
  st.own.insert(own.begin(), own.end());
  if (blocks.empty()) {
    // A new ledger: its genesis block is the first thing stored.
    st.blocks.push_back(make_genesis(wall_clock_seconds()));
    if (st.storage) {
      ledger_change genesis;
      genesis.blocks = blocks_from(st.blocks, 1);
      self->request(st.storage, ask_timeout, commit_atom::value,
                    std::move(genesis))
        .then([](std::uint64_t) {},
              [self](caf::error& err) {
                log("chain", "storing the genesis block failed: ",
                    self->system().render(err));
              });
    }
  } else {
    st.blocks = std::move(blocks);
  }
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
    [self](append_atom, const block_ptr& b,
           batch_origin& origin) -> caf::result<bool> {
      auto& st = self->state;
      const auto& last = st.blocks.back();
      if (!b || b->index != last.index + 1 || b->previous_hash != last.hash
          || origin.epoch < st.mempool_epoch)
        return false;
      st.own.insert(b->hash);
      // The block and the removal of its transactions from the stored
      // mempool are one commit: after a crash they are pending or mined,
      // never both and never neither.
      ledger_change change;
      change.own_added.push_back(b->hash);
      change.txs_removed = std::move(origin.seqs);
      return append(self, b, std::move(change));
    },
    [self](replace_atom, std::uint64_t shared, chain_ptr& tail,
           bool collect_orphans) -> caf::result<consensus_outcome> {
      if (!tail)
        return consensus_outcome{false, self->state.view()};
      return adopt(self, shared, std::move(*tail), collect_orphans);
    },
    [self](extend_atom, const block_ptr& b) -> caf::result<bool> {
      auto& st = self->state;
      if (!b || links_error(st.blocks.back().hash, st.blocks.size() + 1,
                            chain{*b}))
        return false;
      return append(self, b, {});
    },
    [self](head_atom) {
      const auto& st = self->state;
      return std::make_tuple(static_cast<std::uint64_t>(st.blocks.size()),
                             st.blocks.back().hash);
    },
    [self](locator_atom) {
      const auto& blocks = self->state.blocks;
      block_locator out;
      std::uint64_t step = 1;
      for (std::uint64_t i = blocks.size(); i >= 1;) {
        out.indexes.push_back(i);
        out.hashes.push_back(blocks[i - 1].hash);
        if (out.indexes.size() >= 10)
          step *= 2; // the last ten blocks one by one, then doubling
        if (i == 1)
          break;
        i = i > step ? i - step : 1;
      }
      return out;
    },
    [self](blocks_atom, const std::vector<std::uint64_t>& indexes,
           const std::vector<std::string>& hashes,
           std::uint64_t max) -> caf::result<std::uint64_t, std::vector<std::string>> {
      const auto& blocks = self->state.blocks;
      if (indexes.size() != hashes.size() || indexes.size() > max_locator)
        return caf::make_error(caf::sec::invalid_argument,
                               "a block locator has as many indexes as "
                               "hashes, and at most "
                                 + std::to_string(max_locator));
      std::uint64_t shared = 0;
      for (std::size_t i = 0; i < indexes.size(); ++i)
        if (indexes[i] > shared && indexes[i] <= blocks.size()
            && blocks[indexes[i] - 1].hash == hashes[i])
          shared = indexes[i];
      std::vector<std::string> after;
      auto end = std::min<std::uint64_t>(blocks.size(),
                                         shared + std::min(max, max_transfer));
      after.reserve(end - shared);
      for (auto i = shared; i < end; ++i)
        after.push_back(blocks[i].json);
      return caf::result<std::uint64_t, std::vector<std::string>>(
        shared, std::move(after));
    },
    [self](pop_atom) -> caf::result<block_ptr> {
      auto& st = self->state;
      if (st.blocks.size() <= 1)
        return block_ptr{}; // never remove the genesis block
      st.own.erase(st.blocks.back().hash);
      auto popped = std::make_shared<const block>(std::move(st.blocks.back()));
      st.blocks.pop_back();
      st.segment_pop();
      ledger_change change;
      change.truncate_from = popped->index;
      change.own_removed.push_back(popped->hash);
      auto rp = self->make_response_promise<block_ptr>();
      commit_and_answer(self, std::move(change), rp, block_ptr{popped});
      return rp;
    },
  };
}

} // namespace

chain_actor spawn_chain(caf::actor_system& sys, chain blocks,
                        std::vector<std::string> own, storage_actor storage,
                        mempool_actor mempool) {
  return sys.spawn(chain_behavior, std::move(blocks), std::move(own),
                   std::move(storage), std::move(mempool));
}

} // namespace dlt
