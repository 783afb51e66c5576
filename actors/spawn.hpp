#pragma once
// Starting the node's actors. Behaviours and state live in one .cpp per
// actor; this header is what main() and the tests need to wire them.

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <caf/fwd.hpp>

#include "actors/actors.hpp"

namespace dlt {

/// Python's time(): wall-clock seconds as a double.
double wall_clock_seconds();

struct hub_settings {
  /// Reported in snapshots.
  std::string version = "dlt-node";
  /// The replay buffer keeps at least this many events and at most
  /// max_buffered_events, as long as they fit in max_buffered_bytes (events
  /// are small: see event_json.hpp).
  std::size_t min_buffered_events = 1000;
  std::size_t max_buffered_events = 10000;
  std::size_t max_buffered_bytes = 16 << 20;
};

/// The event hub (see event_hub_actor). `published` gives snapshots the
/// chain's state.
event_hub_actor spawn_event_hub(caf::actor_system& sys,
                                published_chain_ptr published,
                                hub_settings settings = {});

/// A subscriber that hands the events `wanted` accepts (all when null) to a
/// local actor as event_ptr messages, at most `max_queued` unprocessed at
/// once (beyond that the hub drops it).
event_sink_ptr make_actor_sink(const caf::actor& target, std::string name,
                               std::function<bool(const node_event&)> wanted,
                               std::size_t max_queued = 10000);

/// The storage actor (detached) over an opened, loaded store. Calls
/// `on_failure` (from its thread) when a commit fails; every later commit
/// is refused, since memory and disk no longer agree. Reports each group
/// commit to `hub` (may be null).
storage_actor
spawn_storage(caf::actor_system& sys, std::shared_ptr<ledger_store> store,
              std::function<void(const std::string&)> on_failure,
              event_hub_actor hub = {});

/// The chain actor over `blocks` (a loaded, checked chain), or over a fresh
/// genesis block mined now when `blocks` is empty. `own`: hashes of the
/// blocks this node mined. `storage` may be null (ephemeral node). Every
/// stored state goes to `published`, every change to `hub`.
chain_actor spawn_chain(caf::actor_system& sys, chain blocks,
                        std::vector<std::string> own, storage_actor storage,
                        mempool_actor mempool, published_chain_ptr published,
                        event_hub_actor hub,
                        std::function<void(const std::string&)> fatal = {});

/// Bounds on the state clients and peers can make a node hold.
struct ledger_limits {
  /// Pending transactions (queued or with the miner), by count and by
  /// canonical bytes; a full mempool refuses new ones (503, Retry-After).
  std::uint64_t max_pending = 50000;
  std::uint64_t max_pending_bytes = 64ull << 20;
  /// A mined block takes at most this many pending transactions, and at
  /// most this many bytes in all; the rest waits for the next block.
  std::uint64_t max_block_transactions = 10000;
  std::uint64_t max_block_bytes = 4ull << 20;
  /// Registered peers; a peer that failed `peer_max_failures` consecutive
  /// consensus rounds and has been failing for `peer_failing_for` is
  /// evicted, and when the registry is full the peer failing longest makes
  /// room for a new one.
  std::size_t max_peers = 1024;
  std::uint32_t peer_max_failures = 10;
  std::chrono::seconds peer_failing_for{300};

  /// The largest transaction (canonical bytes) that fits into a block.
  std::uint64_t max_transaction_bytes() const;
};

/// The mempool over the stored pending transactions.
mempool_actor spawn_mempool(caf::actor_system& sys,
                            std::vector<stored_tx> pending,
                            storage_actor storage, event_hub_actor hub,
                            ledger_limits limits = {});

/// The registry over the stored peers.
peer_registry_actor spawn_peer_registry(caf::actor_system& sys,
                                        std::vector<std::string> peers,
                                        storage_actor storage,
                                        event_hub_actor hub,
                                        ledger_limits limits = {});

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

/// The name std::vector<std::uint64_t> (a block locator's indexes) goes by
/// on the wire; the front checks it too (net/rules.cpp).
inline constexpr const char* index_list_type_name = "dlt::index_list";

/// The consensus actor (see consensus_actor).
consensus_actor spawn_consensus(caf::actor_system& sys,
                                peer_registry_actor registry, chain_actor chain,
                                published_chain_ptr published, links_actor links,
                                peer_actor face, event_hub_actor hub,
                                chain_fetcher fetch, gossip_settings settings);

/// The links actor (see links_actor); `connect` opens native connections
/// (plain_native_connector() when empty); announcements take our tip from
/// `published`.
links_actor spawn_links(caf::actor_system& sys, peer_registry_actor registry,
                        peer_actor face, event_hub_actor hub,
                        published_chain_ptr published, native_connector connect,
                        gossip_settings settings);

/// The node's face to native peers (see peer_actor), answering from
/// `published`; `http_address` is what info answers.
peer_actor spawn_native(caf::actor_system& sys, published_chain_ptr published,
                        std::string http_address);

/// A connector without a front: CAF's middleman connects to the peer's
/// host and port by itself, with none of the front's checks (actor systems
/// in one process, tests). dlt-node links through its front instead.
native_connector plain_native_connector(caf::actor_system& sys);

/// Everything a node's actors are configured with.
struct node_settings {
  gossip_settings gossip;
  ledger_limits limits;
  /// How native links are opened (plain_native_connector() when empty;
  /// dlt-node passes its front's connector).
  native_connector connect;
  /// This node's HTTP address, told to native peers that ask (info).
  std::string http_address;
  /// Called (from any thread) when the node can no longer keep memory and
  /// disk consistent; main() stops the node.
  std::function<void(const std::string&)> fatal;
};

/// All ledger actors, wired together, starting from `start` (a loaded
/// ledger; empty for a new one) and storing into `storage` (null: ephemeral).
/// The storage actor, when there is one, was spawned with `hub` (see
/// spawn_storage); without a hub one is spawned, with its published chain.
node_actors spawn_node_actors(caf::actor_system& sys, chain_fetcher fetch,
                              node_settings settings,
                              stored_ledger start = {},
                              storage_actor storage = {},
                              event_hub_actor hub = {},
                              published_chain_ptr published = {});

/// Asks every actor in `actors` to exit (they hold each other's handles and
/// would otherwise keep the actor system alive).
void stop_node_actors(const node_actors& actors);

} // namespace dlt
