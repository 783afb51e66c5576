#pragma once
// Starting the node's actors. Behaviours and state live in one .cpp per
// actor; this header is what main() and the tests need to wire them.

#include <chrono>
#include <functional>
#include <memory>

#include <caf/fwd.hpp>

#include "actors/actors.hpp"

namespace dlt {

/// Python's time(): wall-clock seconds as a double.
double wall_clock_seconds();

/// The storage actor (detached) over an opened, loaded store. Calls
/// `on_failure` (from its thread) when a commit fails; every later commit
/// is refused, since memory and disk no longer agree.
storage_actor
spawn_storage(caf::actor_system& sys, std::shared_ptr<ledger_store> store,
              std::function<void(const std::string&)> on_failure);

/// The chain actor over `blocks` (a loaded, checked chain), or over a fresh
/// genesis block mined now when `blocks` is empty. `own`: hashes of the
/// blocks this node mined. `storage` may be null (ephemeral node).
chain_actor spawn_chain(caf::actor_system& sys, chain blocks,
                        std::vector<std::string> own, storage_actor storage,
                        mempool_actor mempool);

/// The mempool over the stored pending transactions.
mempool_actor spawn_mempool(caf::actor_system& sys,
                            std::vector<stored_tx> pending,
                            storage_actor storage);

/// The registry over the stored peers; `max_peers` bounds it
/// (registrations beyond it are refused).
peer_registry_actor spawn_peer_registry(caf::actor_system& sys,
                                        std::vector<std::string> peers,
                                        storage_actor storage,
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
  /// Announce every new tip to native peers (--gossip push).
  bool push = false;
  /// Run consensus this often on our own (0: never; --sync-interval).
  std::chrono::milliseconds sync_interval{0};
  /// Most blocks asked of a native peer in one message; more come in
  /// further batches.
  std::uint64_t native_batch = 100000;
};

/// What an actor system needs for native linking: CAF's io middleman, the
/// native protocol's message types (registered under the same names on
/// every node) and heartbeats, so a silent peer is noticed.
void configure_native(caf::actor_system_config& cfg);

gossiper_actor spawn_gossiper(caf::actor_system& sys,
                              peer_registry_actor peers, chain_actor chain,
                              chain_fetcher fetch, gossip_settings settings);

/// The node's public face to native peers (see peer_actor).
peer_actor spawn_native(caf::actor_system& sys, chain_actor chain,
                        gossiper_actor gossiper);

/// All ledger actors, wired together, starting from `start` (a loaded
/// ledger; empty for a new one) and storing into `storage` (null: ephemeral).
node_actors spawn_node_actors(caf::actor_system& sys, chain_fetcher fetch,
                              gossip_settings settings,
                              stored_ledger start = {},
                              storage_actor storage = {});

/// Asks every actor in `actors` to exit (they hold each other's handles and
/// would otherwise keep the actor system alive).
void stop_node_actors(const node_actors& actors);

} // namespace dlt
