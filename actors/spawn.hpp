#pragma once
// Starting the node's actors. Behaviours and state live in one .cpp per
// actor; this header is what main() and the tests need to wire them.

#include <chrono>

#include <caf/fwd.hpp>

#include "actors/actors.hpp"

namespace dlt {

/// Python's time(): wall-clock seconds as a double.
double wall_clock_seconds();

/// The chain actor, starting from a fresh genesis block mined at `genesis_ts`.
chain_actor spawn_chain(caf::actor_system& sys, double genesis_ts);

mempool_actor spawn_mempool(caf::actor_system& sys);

/// `max_peers` bounds the registry (registrations beyond it are refused).
peer_registry_actor spawn_peer_registry(caf::actor_system& sys,
                                        std::size_t max_peers = 1024);

miner_actor spawn_miner(caf::actor_system& sys, mempool_actor mempool,
                        chain_actor chain);

struct gossip_settings {
  /// Deadline for each peer's chain in a consensus round.
  std::chrono::milliseconds peer_timeout{5000};
  /// Return the transactions of orphaned blocks to the mempool when a
  /// longer chain is adopted. Off by default: the reference drops them, and
  /// the notebook's evil flow shows exactly that.
  bool requeue_orphans = false;
};

gossiper_actor spawn_gossiper(caf::actor_system& sys,
                              peer_registry_actor peers, chain_actor chain,
                              mempool_actor mempool, chain_fetcher fetch,
                              gossip_settings settings);

/// All five ledger actors, wired together.
node_actors spawn_node_actors(caf::actor_system& sys, chain_fetcher fetch,
                              gossip_settings settings);

/// Asks every actor in `actors` to exit (they hold each other's handles and
/// would otherwise keep the actor system alive).
void stop_node_actors(const node_actors& actors);

} // namespace dlt
