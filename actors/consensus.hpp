#pragma once
// The consensus actor's state, shared by its two files: consensus_actor.cpp
// (rounds, HTTP peers, announcements) and native_pull.cpp (native peers).

#include <chrono>
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
  clock::time_point started;
  clock::time_point deadline;
  bool deadline_passed = false; // fetches no longer count
  bool verify_passed = false;   // nor verifications
  verified_chain best;
};

struct consensus_state {
  peer_registry_actor registry;
  chain_actor chain;
  links_actor links;
  peer_actor face;
  event_hub_actor hub;
  chain_fetcher fetch;
  gossip_settings settings;
  std::map<std::uint64_t, round_state> rounds;
  std::uint64_t next_round = 1;
  std::uint64_t full_round = 0; // the full round under way, 0: none
  std::size_t announced_rounds_open = 0;
  static inline const char* name = "consensus";
};

using consensus_ptr = consensus_actor::stateful_pointer<consensus_state>;

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

/// Verifies the blocks a native peer sent after our block `shared` (hash
/// `anchor`).
void verify_tail(consensus_ptr self, std::uint64_t id, round_state& r,
                 std::uint64_t index, std::vector<std::string> blocks,
                 std::uint64_t shared, std::string anchor);

/// Pulls from native peer `index`: its face (through the links actor), its
/// height, then the blocks after the last one both hold.
void start_native_pull(consensus_ptr self, std::uint64_t id,
                       std::uint64_t index);

} // namespace dlt
