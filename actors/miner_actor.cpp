// The miner actor: turns the pending transactions into the next block.
//
// Mines run one at a time (a queue of promises), so two concurrent POST /mine
// never take the same transactions. The block is built on the tip the chain
// actor reports; if the tip moves before the append (consensus or evil in
// between), the batch goes back to the mempool and is taken again.
//
// Each mine carries its requester's deadline; every ask is bounded by what
// is left of it. A mine whose deadline passes before it starts, or before
// its block is handed to the chain, is not done (the batch goes back); one
// whose append times out may still land: outcome_unknown.

#include <deque>

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/log.hpp"
#include "actors/spawn.hpp"

namespace dlt {
namespace {

using mine_promise = caf::typed_response_promise<mine_outcome>;

struct queued_mine {
  mine_promise promise;
  deadline_t deadline;
};

struct miner_state {
  mempool_actor mempool;
  chain_actor chain;
  std::deque<queued_mine> queue; // front: the mine in progress
  bool busy = false;
  static inline const char* name = "miner";
};

using miner_ptr = miner_actor::stateful_pointer<miner_state>;

/// A tip that keeps moving under us this often means something is wrong.
constexpr int max_attempts = 100;

void start_next(miner_ptr self);

void finish(miner_ptr self, mine_outcome outcome) {
  self->state.queue.front().promise.deliver(std::move(outcome));
  self->state.queue.pop_front();
  start_next(self);
}

void fail(miner_ptr self, const caf::error& err) {
  log("miner", "mining failed: ", error_text(err));
  self->state.queue.front().promise.deliver(err);
  self->state.queue.pop_front();
  start_next(self);
}

deadline_t current_deadline(miner_ptr self) {
  return self->state.queue.front().deadline;
}

bool expired(miner_ptr self) {
  return std::chrono::steady_clock::now() >= current_deadline(self);
}

caf::error too_late() {
  return make_node_error(node_error::not_done,
                         "the deadline passed before the block was built; "
                         "nothing was mined");
}

// The mempool keeps the batch it handed out until the chain actor takes it
// in a block (and tells the mempool), or we give it back (see
// mempool_actor): a reorg meanwhile can then still drop from the batch the
// transactions that the adopted blocks already carry.
void give_back(miner_ptr self) {
  self->send(self->state.mempool, restore_atom::value);
}

/// The append's outcome is unknown: the mempool drops the batch now.
void forget(miner_ptr self, std::vector<std::int64_t> seqs) {
  self->send(self->state.mempool, confirm_atom::value, std::move(seqs));
  self->send(self->state.mempool, stored_atom::value);
}

void take_and_mine(miner_ptr self, int attempt);

void try_append(miner_ptr self, tx_batch batch, int attempt) {
  self->request(self->state.chain, time_left(current_deadline(self)), tip_atom::value)
    .then(
      [self, batch = std::move(batch), attempt](const chain_tip& tip) mutable {
        if (expired(self)) {
          give_back(self);
          return fail(self, too_late());
        }
        if (!tip.valid) {
          // As the reference: never build on an invalid chain.
          give_back(self);
          finish(self, mine_outcome{nullptr, false});
          return;
        }
        auto b = std::make_shared<const block>(
          seal_block(tip.height + 1, tip.hash, wall_clock_seconds(),
                     batch.txs));
        auto seqs = batch.origin.seqs;
        self
          ->request(self->state.chain, time_left(current_deadline(self)),
                    append_atom::value, b, std::move(batch.origin))
          .then(
            [self, b, attempt, valid = tip.valid](bool appended) {
              if (appended) {
                // The chain actor took the batch from the mempool as it
                // took the block; now that it is stored, it can be told.
                self->send(self->state.mempool, stored_atom::value);
                finish(self, mine_outcome{b, valid});
                return;
              }
              // The tip moved (consensus or evil in between) or a reorg
              // reconciled the mempool: give the batch back and take it
              // again, minus what the reorg dropped.
              give_back(self);
              if (attempt < max_attempts)
                take_and_mine(self, attempt + 1);
              else
                fail(self, caf::make_error(caf::sec::request_timeout,
                                           "the chain tip kept moving"));
            },
            [self, seqs = std::move(seqs)](caf::error& err) mutable {
              // The append may or may not have happened: drop the batch
              // rather than risk mining it twice.
              forget(self, std::move(seqs));
              fail(self, make_node_error(node_error::outcome_unknown,
                                         "the block was handed to the chain "
                                         "but not confirmed ("
                                           + error_text(err) + ")"));
            });
      },
      [self](caf::error& err) {
        give_back(self);
        fail(self, err);
      });
}

// Nothing pending: the answer is a null block with the chain's validity.
void report_nothing_to_mine(miner_ptr self) {
  self->request(self->state.chain, time_left(current_deadline(self)),
                tip_atom::value)
    .then(
      [self](const chain_tip& tip) {
        finish(self, mine_outcome{nullptr, tip.valid});
      },
      [self](caf::error& err) { fail(self, err); });
}

void take_and_mine(miner_ptr self, int attempt) {
  if (expired(self))
    return fail(self, too_late());
  self->request(self->state.mempool, time_left(current_deadline(self)),
                take_atom::value)
    .then(
      [self, attempt](tx_batch& batch) {
        if (batch.txs.empty())
          report_nothing_to_mine(self);
        else
          try_append(self, std::move(batch), attempt);
      },
      [self](caf::error& err) { fail(self, err); });
}

void start_next(miner_ptr self) {
  auto& st = self->state;
  if (st.queue.empty()) {
    st.busy = false;
    return;
  }
  st.busy = true;
  take_and_mine(self, 1);
}

miner_actor::behavior_type miner_behavior(miner_ptr self, mempool_actor mempool,
                                          chain_actor chain) {
  self->state.mempool = std::move(mempool);
  self->state.chain = std::move(chain);
  return {
    [self](mine_atom, deadline_t deadline) {
      auto rp = self->make_response_promise<mine_outcome>();
      self->state.queue.push_back(queued_mine{rp, deadline});
      if (!self->state.busy)
        start_next(self);
      return rp;
    },
  };
}

} // namespace

miner_actor spawn_miner(caf::actor_system& sys, mempool_actor mempool,
                        chain_actor chain) {
  return sys.spawn(miner_behavior, std::move(mempool), std::move(chain));
}

} // namespace dlt
