// The storage actor: the only user of the ledger store at run time.
//
// Group commit: a change is not written when it arrives; it joins the group
// and, if none is queued, a flush message goes to the back of the mailbox.
// By the time the flush runs, every change that arrived meanwhile (e.g. all
// the transactions posted during the previous sync) is in the group, and
// one transaction with one sync stores them all. Under load the group grows
// by itself; idle, a lone change is synced at once.
//
// Staging: the chain actor sends an adopted chain's blocks in parts while
// it is still taking the rest in (stage), so the writing overlaps its work.
// The parts go into an open transaction; until the stager's own commit
// arrives, a flush commits nothing (it would store half a chain).
//
// Checkpoints: SQLite's log is copied into the database once it is long,
// after the answers of the commit that made it long and after the changes
// queued by then, not inside the next change's commit.

#include <malloc.h>

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/log.hpp"
#include "actors/spawn.hpp"

namespace dlt {
namespace {

using commit_promise = caf::typed_response_promise<std::uint64_t>;

/// Groups storing at least this many blocks are followed by malloc_trim.
constexpr std::size_t trim_after_blocks = 1000;

struct storage_state {
  std::shared_ptr<ledger_store> store;
  std::function<void(const std::string&)> on_failure;
  event_hub_actor hub; // told of every group commit (metrics)
  std::vector<ledger_change> group;
  std::vector<commit_promise> waiting;
  bool flush_queued = false;
  bool checkpoint_queued = false;
  /// Who staged parts of a change it has not committed yet (none: null).
  caf::strong_actor_ptr stager;
  /// Blocks in the parts staged since the last commit.
  std::size_t staged_blocks = 0;
  /// Why a commit failed; once set, nothing more is stored.
  std::string failed;
  static inline const char* name = "storage";
};

using storage_ptr = storage_actor::stateful_pointer<storage_state>;

caf::error refusal(const std::string& why) {
  return caf::make_error(caf::sec::runtime_error,
                         "the ledger cannot be stored: " + why);
}

/// A commit (or a staged part) failed: nothing more is stored.
void fail(storage_ptr self, const std::string& why) {
  auto& st = self->state;
  st.failed = why;
  st.stager = nullptr;
  log("storage", "commit failed: ", why);
  // The node starts stopping before anyone hears of the failure.
  if (st.on_failure)
    st.on_failure(why);
  auto waiting = std::move(st.waiting);
  st.waiting.clear();
  st.group.clear();
  for (auto& rp : waiting)
    rp.deliver(refusal(why));
}

void flush(storage_ptr self) {
  auto& st = self->state;
  st.flush_queued = false;
  if (st.group.empty() || st.stager)
    return; // the stager's commit queues the next flush
  auto started = std::chrono::steady_clock::now();
  if (auto err = st.store->apply(st.group))
    return fail(self, *err); // refuses everyone waiting
  auto group = std::move(st.group);
  auto waiting = std::move(st.waiting);
  st.group.clear();
  st.waiting.clear();
  auto n = static_cast<std::uint64_t>(group.size());
  if (st.hub)
    self->send(st.hub,
               node_event{ledger_committed{
                 n, std::chrono::duration<double>(
                      std::chrono::steady_clock::now() - started)
                      .count()}});
  for (auto& rp : waiting)
    rp.deliver(n);
  // A long log (an adopted chain's blocks; or ~4 MB of small commits) is
  // copied into the database after the changes queued meanwhile: otherwise
  // the next change waits for it (~20 ms after 100,000 blocks).
  if (st.store->log_is_long() && !st.checkpoint_queued) {
    st.checkpoint_queued = true;
    self->send(self, checkpoint_atom::value);
  }
  std::size_t blocks = std::exchange(st.staged_blocks, 0);
  for (const auto& c : group)
    blocks += c.block_count();
  group.clear();
  // A whole adopted chain just passed through here: hand the pages of its
  // copies back to the system instead of keeping them mapped (this thread
  // is ours alone, so the time it takes blocks no other actor).
#ifndef __SANITIZE_ADDRESS__
  if (blocks >= trim_after_blocks)
    malloc_trim(0);
#endif
}

storage_actor::behavior_type
storage_behavior(storage_ptr self, std::shared_ptr<ledger_store> store,
                 std::function<void(const std::string&)> on_failure,
                 event_hub_actor hub) {
  self->state.store = std::move(store);
  self->state.on_failure = std::move(on_failure);
  self->state.hub = std::move(hub);
  // On shutdown, store what was sent before the exit message (but not the
  // parts of a change whose commit never came).
  self->set_exit_handler([self](caf::exit_msg& msg) {
    auto& st = self->state;
    if (st.stager) {
      st.store->discard_staged();
      st.stager = nullptr;
      st.staged_blocks = 0;
    }
    flush(self);
    self->quit(msg.reason);
  });
  return {
    [self](commit_atom, ledger_change& change) -> caf::result<std::uint64_t> {
      auto& st = self->state;
      if (!st.failed.empty())
        return refusal(st.failed);
      if (st.stager && self->current_sender() == st.stager)
        st.stager = nullptr; // its change is complete
      st.group.push_back(std::move(change));
      auto rp = self->make_response_promise<std::uint64_t>();
      st.waiting.push_back(rp);
      if (!st.flush_queued) {
        st.flush_queued = true;
        self->send(self, flush_atom::value);
      }
      return rp;
    },
    [self](stage_atom, ledger_change& part) {
      auto& st = self->state;
      if (!st.failed.empty())
        return; // the stager's commit is refused
      if (!st.stager) {
        // Only a sender's own commit can complete what it staged.
        if (!self->current_sender())
          return fail(self, "a staged part came without a sender");
        // What came before is committed before the staged change begins.
        flush(self);
        if (!st.failed.empty())
          return;
        st.stager = self->current_sender();
      }
      st.staged_blocks += part.block_count();
      if (auto err = st.store->stage(part))
        fail(self, *err);
    },
    [self](flush_atom) { flush(self); },
    [self](checkpoint_atom) {
      auto& st = self->state;
      st.checkpoint_queued = false;
      // Not inside a staged change; and changes already waiting go first
      // (the first of them checkpoints anyway).
      if (st.failed.empty() && !st.stager && st.group.empty())
        st.store->checkpoint();
    },
  };
}

} // namespace

storage_actor
spawn_storage(caf::actor_system& sys, std::shared_ptr<ledger_store> store,
              std::function<void(const std::string&)> on_failure,
              event_hub_actor hub) {
  return sys.spawn<caf::detached>(storage_behavior, std::move(store),
                                  std::move(on_failure), std::move(hub));
}

} // namespace dlt
