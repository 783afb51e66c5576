// The chain actor: sole owner of the ledger. Every change goes through here,
// one message at a time, so appends, replacements and pops never interleave.
// A change takes effect in memory at once (the next append builds on it);
// once storage has it on disk it is published (published_chain), reported
// to the hub and answered, in that order: whoever hears of a change can
// read it with GET /chain.

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include <algorithm>
#include <iterator>
#include <tuple>
#include <unordered_set>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "actors/chain_store.hpp"
#include "actors/log.hpp"
#include "actors/spawn.hpp"

namespace dlt {
namespace {

/// How long a reorg waits for the mempool's share of it. The mempool is a
/// local actor answering from memory; if it has not answered by then it is
/// stuck, and the node stops rather than store half a reorg.
constexpr std::chrono::minutes reconcile_timeout{5};

struct chain_state {
  /// The chain: each block's bytes once, in the served segments.
  chain_store blocks;
  storage_actor storage; // null when ephemeral
  mempool_actor mempool;
  published_chain_ptr published;
  event_hub_actor hub;
  std::function<void(const std::string&)> fatal;
  /// The mempool's epoch after the last reorg it was reconciled with: a
  /// batch taken before it may hold transactions the chain now carries.
  std::uint64_t mempool_epoch = 0;
  /// Whether the chain passed validation (kept as an invariant: every
  /// change is checked before it is made).
  bool valid = false;
  /// Hashes of every block this node mined. Only their transactions are
  /// requeued when orphaned, so no two nodes requeue the same transaction.
  /// Kept after an orphaning: the block may come back in an adopted chain
  /// and be orphaned again, and this node stays responsible for it.
  std::unordered_set<std::string> own;

  static inline const char* name = "chain";

  chain_view view() {
    return {blocks.json_view(), blocks.size(), valid,
            blocks.hash_hex(blocks.size())};
  }
};

using chain_ptr_self = chain_actor::stateful_pointer<chain_state>;

/// Makes `change` durable, then publishes the state it led to (`view`),
/// reports `what` to the hub and calls `done`; `failed` gets the storage
/// error instead. Readers thus only ever see stored states, and always
/// before whoever hears of the change through its answer.
template <class Done, class Failed>
void commit(chain_ptr_self self, ledger_change change, chain_view view,
            std::vector<event_payload> what, Done done, Failed failed) {
  auto publish = [self, view, what = std::move(what), done]() mutable {
    auto& st = self->state;
    st.published->store(view);
    if (st.hub)
      for (auto& w : what)
        self->send(st.hub, node_event{std::move(w), view.height, view.tip_hash});
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
                       std::vector<event_payload> what,
                       caf::typed_response_promise<T> rp, T answer) {
  commit(
    self, std::move(change), self->state.view(), std::move(what),
    [rp, answer = std::move(answer)]() mutable { rp.deliver(std::move(answer)); },
    [rp](caf::error& err) mutable {
      // The change is made in memory; whether it reached the disk is what
      // cannot be told (a failed commit stops the node, a late one may land).
      rp.deliver(make_node_error(node_error::outcome_unknown,
                                 "storing the change failed (" + error_text(err)
                                   + ")"));
    });
}

/// Appends `b`, which extends our tip, and answers true once it is stored
/// together with `change`.
caf::result<bool> append(chain_ptr_self self, const block_ptr& b,
                         ledger_change change, std::string origin) {
  auto& st = self->state;
  st.blocks.push(*b);
  change.blocks.push_back(row_of(b));
  auto rp = self->make_response_promise<bool>();
  commit_and_answer(self, std::move(change),
                    {event_payload{block_appended{b, std::move(origin)}}}, rp,
                    true);
  return rp;
}

/// Appends an adopted tail after our block `shared` (the chain is cut
/// there already); returns the last block sent to storage meanwhile. A
/// long tail goes to storage in parts as it is copied in, so that writing
/// it overlaps the copy (an adopted chain of 100,000 blocks: ~22 ms here,
/// ~47 ms there).
std::uint64_t take_in(chain_ptr_self self, std::uint64_t shared, chain tail) {
  auto& st = self->state;
  std::uint64_t staged = shared; // blocks up to here are with storage
  auto stage = [&](std::uint64_t upto) {
    ledger_change part;
    part.truncate_from = staged == shared ? shared + 1 : 0;
    part.runs = st.blocks.runs_from(staged + 1, upto);
    self->send(st.storage, stage_atom::value, std::move(part));
    staged = upto;
  };
  if (st.storage)
    st.blocks.append(std::move(tail), stage);
  else
    st.blocks.append(std::move(tail));
  return staged;
}

/// A native peer's tail is in segments already: nothing to copy, and
/// storage gets it whole with the commit.
std::uint64_t take_in(chain_ptr_self self, std::uint64_t shared,
                      json_segments tail) {
  self->state.blocks.append(std::move(tail));
  return shared;
}

/// Makes our first `shared` blocks followed by `tail` the chain, stores it
/// with the mempool's share of the reorg (if any) and answers `rp`.
template <class Tail>
void apply_reorg(chain_ptr_self self, std::uint64_t shared, Tail tail,
                 std::optional<mempool_delta> mempool, std::string peer,
                 caf::typed_response_promise<consensus_outcome> rp) {
  auto& st = self->state;
  auto dropped = st.blocks.size() - shared;
  st.blocks.truncate(shared);
  // Storage rewrites only what follows the shared blocks.
  auto staged = take_in(self, shared, std::move(tail));
  auto added = st.blocks.size() - shared;
  st.valid = true;
  log("chain", "adopted a chain of ", st.blocks.size(), " blocks (", added,
      " new after block ", shared, ") from ", peer);
  ledger_change change;
  change.truncate_from = staged == shared ? shared + 1 : 0;
  change.runs = st.blocks.runs_from(staged + 1);
  std::vector<event_payload> events{
    chain_replaced{shared, dropped, added, std::move(peer)}};
  if (mempool) {
    change.merge_pending(std::move(mempool->change));
    events.emplace_back(std::move(mempool->event));
  }
  commit_and_answer(self, std::move(change), std::move(events), rp,
                    consensus_outcome{true, st.view()});
}

/// Our first `shared` blocks followed by `tail` become the chain, when that
/// is strictly longer than ours and `tail` links onto block `shared`.
/// Whatever `tail` begins with that we hold already is skipped, so memory
/// and storage only change after the real fork point.
caf::result<consensus_outcome> adopt(chain_ptr_self self, std::uint64_t shared,
                                     chain tail, bool collect_orphans,
                                     std::string peer) {
  auto& st = self->state;
  if (shared > st.blocks.size() || tail.empty()
      || shared + tail.size() <= st.blocks.size())
    return consensus_outcome{false, st.view()}; // not longer (any more)
  if (auto err = links_error(shared == 0 ? std::string{genesis_previous_hash}
                                         : st.blocks.hash_hex(shared),
                             shared + 1, tail)) {
    log("chain", "not adopting the chain of ", peer, ": ", *err);
    return consensus_outcome{false, st.view()};
  }
  std::size_t skip = 0;
  while (skip < tail.size() && shared + skip < st.blocks.size()
         && st.blocks.hash_hex(shared + skip + 1) == tail[skip].hash)
    ++skip;
  shared += skip;
  tail.erase(tail.begin(), tail.begin() + static_cast<std::ptrdiff_t>(skip));

  reorg_transactions moved;
  if (collect_orphans) {
    // Both sides from the last shared block on (reorg() skips position 0,
    // a genesis block or this shared one).
    auto from = shared == 0 ? 0 : shared - 1;
    chain old_side;
    for (auto i = from + 1; i <= st.blocks.size(); ++i)
      old_side.push_back(st.blocks.block_at(i));
    chain new_side;
    if (shared > 0)
      new_side.push_back(st.blocks.block_at(shared));
    new_side.insert(new_side.end(), tail.begin(), tail.end());
    moved = reorg(old_side, new_side, [&](const block& b) {
      return st.own.count(b.hash) > 0;
    });
  }
  auto rp = self->make_response_promise<consensus_outcome>();
  if (moved.orphaned.empty() && moved.included.empty()) {
    apply_reorg(self, shared, std::move(tail), std::nullopt, std::move(peer),
                rp);
    return rp;
  }
  // The mempool's side of the reorg is stored in the same commit, and the
  // chain changes only once the mempool has answered: until then this actor
  // takes no other message (await), so no block is appended meanwhile.
  auto tail_ptr = std::make_shared<chain>(std::move(tail));
  self
    ->request(st.mempool, reconcile_timeout, reconcile_atom::value,
              std::move(moved.orphaned), std::move(moved.included))
    .await(
      [self, rp, shared, tail_ptr, peer](mempool_delta& delta) mutable {
        self->state.mempool_epoch = delta.epoch;
        apply_reorg(self, shared, std::move(*tail_ptr), std::move(delta),
                    std::move(peer), rp);
      },
      [self, rp](caf::error& err) mutable {
        // Whether the mempool applied its share is unknown: storing the new
        // chain without it could mine transactions twice, keeping the old
        // one could lose them. Nothing is stored; the node stops and starts
        // again from what is on disk.
        auto why = "the mempool did not answer a reorg: "
                   + self->system().render(err);
        log("chain", why);
        if (self->state.fatal)
          self->state.fatal(why);
        rp.deliver(std::move(err));
      });
  return rp;
}

/// The blocks of `tail` (after our block `shared`) one by one: for the
/// rare adoption that needs them as blocks (see adopt_segments).
chain blocks_of(const segment_tail& tail, std::uint64_t shared) {
  chain out;
  out.reserve(tail.size());
  std::string previous = tail.anchor;
  auto index = shared;
  for (const auto& seg : tail.segments)
    for (std::size_t k = 0; k < seg->count(); ++k) {
      block& b = out.emplace_back();
      b.index = ++index;
      b.previous_hash = previous;
      b.hash = digest_hex(seg->hashes[k]);
      b.json = std::string{seg->block(seg->first + k)};
      previous = std::string{b.hash};
    }
  return out;
}

/// A native peer's verified tail (see segment_tail), adopted under the same
/// rule as adopt(). It is taken in as it is unless the mempool must hear of
/// the orphans or the tail starts with blocks we hold: those go the way of
/// a chain of blocks, which the verifier's segments are rebuilt into.
caf::result<consensus_outcome> adopt_segments(chain_ptr_self self,
                                              std::uint64_t shared,
                                              segment_tail tail,
                                              bool collect_orphans,
                                              std::string peer) {
  auto& st = self->state;
  auto n = tail.size();
  if (shared > st.blocks.size() || n == 0 || shared + n <= st.blocks.size())
    return consensus_outcome{false, st.view()}; // not longer (any more)
  auto ours = shared == 0 ? std::string{genesis_previous_hash}
                          : st.blocks.hash_hex(shared);
  if (tail.anchor != ours) {
    log("chain", "not adopting the chain of ", peer, ": block ", shared + 1,
        " does not link to our block ", shared, " (it changed meanwhile)");
    return consensus_outcome{false, st.view()};
  }
  bool holds_first = shared < st.blocks.size()
                     && st.blocks.hash(shared + 1)
                          == tail.segments.front()->hashes.front();
  if (collect_orphans || holds_first)
    return adopt(self, shared, blocks_of(tail, shared), collect_orphans,
                 std::move(peer));
  auto rp = self->make_response_promise<consensus_outcome>();
  apply_reorg(self, shared, std::move(tail.segments), std::nullopt,
              std::move(peer), rp);
  return rp;
}

chain_actor::behavior_type
chain_behavior(chain_ptr_self self, chain blocks, std::vector<std::string> own,
               storage_actor storage, mempool_actor mempool,
               published_chain_ptr published, event_hub_actor hub,
               std::function<void(const std::string&)> fatal) {
  auto& st = self->state;
  st.storage = std::move(storage);
  st.mempool = std::move(mempool);
  st.published = std::move(published);
  st.hub = std::move(hub);
  st.fatal = std::move(fatal);
  st.own.insert(own.begin(), own.end());
  if (blocks.empty()) {
    // A new ledger: its genesis block is the first thing stored.
    blocks.push_back(make_genesis(wall_clock_seconds()));
    st.blocks.push(blocks.back());
    if (st.storage) {
      ledger_change genesis;
      genesis.runs = st.blocks.runs_from(1);
      self->request(st.storage, ask_timeout, commit_atom::value,
                    std::move(genesis))
        .then([](std::uint64_t) {},
              [self](caf::error& err) {
                log("chain", "storing the genesis block failed: ",
                    self->system().render(err));
              });
    }
    st.valid = true;
  } else {
    st.valid = !validation_error(blocks);
    st.blocks.append(std::move(blocks));
  }
  st.published->store(st.view());
  return {
    [self](snapshot_atom) { return self->state.view(); },
    [self](height_atom) {
      return static_cast<std::uint64_t>(self->state.blocks.size());
    },
    [self](tip_atom) {
      const auto& blocks = self->state.blocks;
      return chain_tip{blocks.size(), blocks.hash_hex(blocks.size()),
                       self->state.valid};
    },
    [self](append_atom, const block_ptr& b,
           batch_origin& origin) -> caf::result<bool> {
      auto& st = self->state;
      if (!b || b->index != st.blocks.size() + 1
          || b->previous_hash != st.blocks.hash_hex(st.blocks.size())
          || origin.epoch < st.mempool_epoch)
        return false;
      st.own.insert(b->hash);
      // The batch is in the chain from now on. The mempool hears it before
      // anything this actor asks it later: a reorg orphaning this block and
      // another adopting it again, both before the miner learns that it was
      // stored, would otherwise find the batch still in flight, drop the
      // adopted copy there and leave the requeued one pending, to be mined
      // twice.
      if (st.mempool && !origin.seqs.empty())
        self->send(st.mempool, confirm_atom::value, origin.seqs);
      // The block and the removal of its transactions from the stored
      // mempool are one commit: after a crash they are pending or mined,
      // never both and never neither.
      ledger_change change;
      change.own_added.push_back(b->hash);
      change.txs_removed = std::move(origin.seqs);
      return append(self, b, std::move(change), "mined");
    },
    [self](replace_atom, std::uint64_t shared, chain_ptr& tail,
           bool collect_orphans,
           std::string& peer) -> caf::result<consensus_outcome> {
      if (!tail)
        return consensus_outcome{false, self->state.view()};
      return adopt(self, shared, std::move(*tail), collect_orphans,
                   std::move(peer));
    },
    [self](replace_atom, std::uint64_t shared, segment_tail_ptr& tail,
           bool collect_orphans,
           std::string& peer) -> caf::result<consensus_outcome> {
      if (!tail || tail->segments.empty())
        return consensus_outcome{false, self->state.view()};
      return adopt_segments(self, shared, std::move(*tail), collect_orphans,
                            std::move(peer));
    },
    [self](extend_atom, const block_ptr& b) -> caf::result<bool> {
      auto& st = self->state;
      if (!b || links_error(st.blocks.hash_hex(st.blocks.size()),
                            st.blocks.size() + 1, chain{*b}))
        return false;
      return append(self, b, {}, "gossip");
    },
    [self](locator_atom) {
      const auto& blocks = self->state.blocks;
      block_locator out;
      std::uint64_t step = 1;
      for (std::uint64_t i = blocks.size(); i >= 1;) {
        out.indexes.push_back(i);
        out.hashes.push_back(blocks.hash_hex(i));
        if (out.indexes.size() >= 10)
          step *= 2; // the last ten blocks one by one, then doubling
        if (i == 1)
          break;
        i = i > step ? i - step : 1;
      }
      return out;
    },
    [self](pop_atom) -> caf::result<block_ptr> {
      auto& st = self->state;
      if (st.blocks.size() <= 1)
        return block_ptr{}; // never remove the genesis block
      auto popped = std::make_shared<const block>(st.blocks.block_at(st.blocks.size()));
      st.own.erase(popped->hash);
      st.blocks.truncate(st.blocks.size() - 1);
      ledger_change change;
      change.truncate_from = popped->index;
      change.own_removed.push_back(popped->hash);
      auto rp = self->make_response_promise<block_ptr>();
      commit_and_answer(self, std::move(change),
                        {event_payload{block_popped{popped}}}, rp,
                        block_ptr{popped});
      return rp;
    },
  };
}

} // namespace

chain_actor spawn_chain(caf::actor_system& sys, chain blocks,
                        std::vector<std::string> own, storage_actor storage,
                        mempool_actor mempool, published_chain_ptr published,
                        event_hub_actor hub,
                        std::function<void(const std::string&)> fatal) {
#ifdef __GLIBC__
  // A long chain's temporaries (a peer's parsed chain, the rows storage
  // writes) are megabytes each: mapped on their own, they go back to the
  // system whole when freed. glibc would otherwise raise its threshold to
  // the largest one freed and carve the next ones from its heaps, where
  // they stay as free space counted in the node's RSS.
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
#endif
  return sys.spawn(chain_behavior, std::move(blocks), std::move(own),
                   std::move(storage), std::move(mempool), std::move(published),
                   std::move(hub), std::move(fatal));
}

} // namespace dlt
