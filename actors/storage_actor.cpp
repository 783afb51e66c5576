// The storage actor: the only user of the ledger store at run time.
//
// Group commit: a change is not written when it arrives; it joins the group
// and, if none is queued, a flush message goes to the back of the mailbox.
// By the time the flush runs, every change that arrived meanwhile (e.g. all
// the transactions posted during the previous sync) is in the group, and
// one transaction with one sync stores them all. Under load the group grows
// by itself; idle, a lone change is synced at once.

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
  /// Why a commit failed; once set, nothing more is stored.
  std::string failed;
  static inline const char* name = "storage";
};

using storage_ptr = storage_actor::stateful_pointer<storage_state>;

caf::error refusal(const std::string& why) {
  return caf::make_error(caf::sec::runtime_error,
                         "the ledger cannot be stored: " + why);
}

void flush(storage_ptr self) {
  auto& st = self->state;
  st.flush_queued = false;
  if (st.group.empty())
    return;
  auto group = std::move(st.group);
  auto waiting = std::move(st.waiting);
  st.group.clear();
  st.waiting.clear();
  auto started = std::chrono::steady_clock::now();
  if (auto err = st.store->apply(group)) {
    st.failed = *err;
    log("storage", "commit failed: ", *err);
    // The node starts stopping before anyone hears of the failure.
    if (st.on_failure)
      st.on_failure(*err);
    for (auto& rp : waiting)
      rp.deliver(refusal(*err));
    return;
  }
  auto n = static_cast<std::uint64_t>(group.size());
  if (st.hub)
    self->send(st.hub,
               node_event{ledger_committed{
                 n, std::chrono::duration<double>(
                      std::chrono::steady_clock::now() - started)
                      .count()}});
  for (auto& rp : waiting)
    rp.deliver(n);
  std::size_t blocks = 0;
  for (const auto& c : group)
    blocks += c.blocks.size();
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
  // On shutdown, store what was sent before the exit message.
  self->set_exit_handler([self](caf::exit_msg& msg) {
    flush(self);
    self->quit(msg.reason);
  });
  return {
    [self](commit_atom, ledger_change& change) -> caf::result<std::uint64_t> {
      auto& st = self->state;
      if (!st.failed.empty())
        return refusal(st.failed);
      st.group.push_back(std::move(change));
      auto rp = self->make_response_promise<std::uint64_t>();
      st.waiting.push_back(rp);
      if (!st.flush_queued) {
        st.flush_queued = true;
        self->send(self, flush_atom::value);
      }
      return rp;
    },
    [self](flush_atom) { flush(self); },
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
