#pragma once
// The consensus actor's state, shared by its two files: consensus_actor.cpp
// (rounds, HTTP peers, announcements) and native_pull.cpp (native peers).

#include <chrono>
#include <deque>
#include <unordered_set>
#include <map>
#include <optional>

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/spawn.hpp"

namespace dlt {

using consensus_promise = caf::typed_response_promise<consensus_outcome>;
using clock = std::chrono::steady_clock;

struct round_state {
  std::vector<consensus_promise> promises; // none: nobody waits
  bool full = false;      // over every registered peer (others join it)
  bool announced = false; // started by an announcement
  bool fetching = false;  // peers and locator in, fetches started
  std::vector<peer_address> peers;
  /// Per peer: a native face given with the round (an announcer's).
  std::vector<caf::strong_actor_ptr> handles;
  std::vector<bool> fetch_done;
  std::vector<peer_outcome> outcomes; // result empty: no answer yet
  std::size_t fetches_open = 0;
  std::size_t verifications_open = 0;
  block_locator locator;
  std::uint64_t our_height = 0;
  /// Native peers whose height could win, not pulled yet: (height,
  /// index). Only one is pulled at a time, the highest first: N peers one
  /// block ahead cost one transfer, not N.
  std::vector<std::pair<std::uint64_t, std::uint64_t>> candidates;
  std::optional<std::uint64_t> pulling; // the peer being pulled
  clock::time_point started;
  clock::time_point deadline;
  bool deadline_passed = false; // fetches no longer count
  bool verify_passed = false;   // nor verifications
  verified_chain best;
};

/// The hashes of the last blocks announced to us, so that the same block
/// announced by every peer is handled once.
class recent_hashes {
public:
  /// False when `hash` is among the recent ones already.
  bool insert(const std::string& hash);
  void forget(const std::string& hash);

private:
  static constexpr std::size_t capacity = 1024;
  std::deque<std::string> order_;
  std::unordered_set<std::string> set_;
};

struct consensus_state {
  peer_registry_actor registry;
  chain_actor chain;
  published_chain_ptr published;
  recent_hashes seen;
  links_actor links;
  peer_actor face;
  event_hub_actor hub;
  chain_fetcher fetch;
  gossip_settings settings;
  std::map<std::uint64_t, round_state> rounds;
  std::uint64_t next_round = 1;
  std::uint64_t full_round = 0; // the full round under way, 0: none
  std::size_t announced_rounds_open = 0;
  /// Blocks being fetched from their first announcer, with the peers that
  /// announced them meanwhile (at most max_alternates): when the fetch
  /// fails, the next of them is asked, rather than the block waiting for
  /// the next one.
  std::map<std::string, std::vector<caf::strong_actor_ptr>> fetching;
  /// The highest announcement a sync under way made us pass over: synced
  /// with once that sync ends, if it still is ahead of us.
  std::uint64_t deferred_index = 0;
  caf::strong_actor_ptr deferred_origin;
  static inline const char* name = "consensus";
};

using consensus_ptr = consensus_actor::stateful_pointer<consensus_state>;

/// A block from its canonical text (a native peer's answer).
result<block> parse_block_text(const std::string& json);

/// Only a chain longer than ours and than the best so far can win.
std::uint64_t min_height(const round_state& r);

/// What is left of the round's peer deadline.
std::chrono::milliseconds remaining(const round_state& r);

/// Marks peer `index` of round `id` as answered; the round, or null when
/// the answer comes too late to count.
round_state* take_fetch(consensus_ptr self, std::uint64_t id,
                        std::uint64_t index);

/// Peer `index` gave nothing usable: `result` (see peer_outcome) and why.
void skip_peer(consensus_ptr self, std::uint64_t id, std::uint64_t index,
               std::string result, const std::string& why);
void skip_peer(consensus_ptr self, std::uint64_t id, std::uint64_t index,
               const caf::error& err);

/// Asks the verifier that took native peer `index`'s answers for its
/// verdict, within the round's deadline and verify_grace.
void verify_tail(consensus_ptr self, std::uint64_t id, round_state& r,
                 std::uint64_t index, verifier_actor verifier);

/// Pulls from native peer `index`: its face (through the links actor), its
/// height, then (when it can win, one peer at a time) the blocks after the
/// last one both hold.
void start_native_pull(consensus_ptr self, std::uint64_t id,
                       std::uint64_t index);

/// Peer `index` of round `id` is done (verified or skipped): when it was the
/// one being pulled, the next candidate that can still win is pulled. Call
/// before maybe_finish().
void pull_done(consensus_ptr self, std::uint64_t id, std::uint64_t index);

/// Finishes round `id` when nothing it waits for is left.
void maybe_finish(consensus_ptr self, std::uint64_t id);

} // namespace dlt
