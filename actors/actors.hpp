#pragma once
// The whole message protocol of a node, on one page.
//
// Every piece of state has exactly one owner actor; everything else asks it by
// message. Requests between actors always carry a finite timeout and an error
// handler (a CAF .then without one kills the requester on timeout).
//
//   HTTP session --(rest_request, responder)--> edge
//   edge --> chain | mempool | peer_registry | miner | gossiper
//   miner --> mempool (take pending) --> chain (tip, append)
//   gossiper --> peer_registry (peers), chain (height, replace),
//                chain_fetcher (HTTP I/O, injected), verifier (detached)
//   chain --> mempool (reconcile, after a reorg)
//   native (published with --caf-port) <--> other nodes' native actors
//   native --> chain (head, blocks), gossiper (announced)
//   gossiper --> other nodes' native actors (head, blocks), CAF middleman
//   chain | mempool | peer_registry --> storage (commit), when not ephemeral
//
// Durability: a change is answered (and a new chain state published) only
// after the storage actor has synced it to disk. The in-memory state moves
// on at once, and storage applies changes in the order they were sent, so
// what is on disk is always a state the node was in.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "model/block.hpp"
#include "model/chain.hpp"
#include "model/peer_address.hpp"
#include "storage/ledger_store.hpp"

namespace dlt {

// -- atoms (ours live in dlt::, CAF defines many of its own) ----------------

using add_atom = caf::atom_constant<caf::atom("add")>;
using announce_atom = caf::atom_constant<caf::atom("announce")>;
using announced_atom = caf::atom_constant<caf::atom("announced")>;
using blocks_atom = caf::atom_constant<caf::atom("blocks")>;
using extend_atom = caf::atom_constant<caf::atom("extend")>;
using face_atom = caf::atom_constant<caf::atom("face")>;
using head_atom = caf::atom_constant<caf::atom("head")>;
using hello_atom = caf::atom_constant<caf::atom("hello")>;
using link_atom = caf::atom_constant<caf::atom("link")>;
using locator_atom = caf::atom_constant<caf::atom("locator")>;
using relink_atom = caf::atom_constant<caf::atom("relink")>;
using sync_atom = caf::atom_constant<caf::atom("sync")>;
using append_atom = caf::atom_constant<caf::atom("append")>;
using commit_atom = caf::atom_constant<caf::atom("commit")>;
using confirm_atom = caf::atom_constant<caf::atom("confirm")>;
using consensus_atom = caf::atom_constant<caf::atom("consensus")>;
using fetched_atom = caf::atom_constant<caf::atom("fetched")>;
using flush_atom = caf::atom_constant<caf::atom("flush")>;
using height_atom = caf::atom_constant<caf::atom("height")>;
using mine_atom = caf::atom_constant<caf::atom("mine")>;
using peers_atom = caf::atom_constant<caf::atom("peers")>;
using pop_atom = caf::atom_constant<caf::atom("pop")>;
using register_atom = caf::atom_constant<caf::atom("register")>;
using replace_atom = caf::atom_constant<caf::atom("replace")>;
using reconcile_atom = caf::atom_constant<caf::atom("reconcile")>;
using restore_atom = caf::atom_constant<caf::atom("restore")>;
using round_end_atom = caf::atom_constant<caf::atom("round_end")>;
using size_atom = caf::atom_constant<caf::atom("size")>;
using snapshot_atom = caf::atom_constant<caf::atom("snapshot")>;
using take_atom = caf::atom_constant<caf::atom("take")>;
using tip_atom = caf::atom_constant<caf::atom("tip")>;
using verify_atom = caf::atom_constant<caf::atom("verify")>;
using subscribe_atom = caf::atom_constant<caf::atom("subscribe")>;
using sweep_atom = caf::atom_constant<caf::atom("sweep")>;

// -- message types --------------------------------------------------------------

/// The canonical block list "[b1, b2, ...]" as immutable segments of
/// whole blocks: the list is "[" + join(segments, ", ") + "]". Appending a
/// block replaces only the last segment, so a new chain state shares almost
/// all of its bytes with the previous one and is never concatenated whole.
struct chain_json {
  std::vector<std::shared_ptr<const std::string>> segments;

  /// Bytes of the whole list.
  std::size_t size() const;
  /// The whole list as one string (tests, tools).
  std::string str() const;
};

/// An immutable view of the chain at one moment, shared by every response
/// that serves it.
struct chain_view {
  std::shared_ptr<const chain_json> blocks;
  std::uint64_t height = 0;
  bool valid = false;
  /// The last block's hash and size: its bytes end the last segment.
  std::string tip_hash;
  std::size_t tip_bytes = 0;

  /// The last block's canonical bytes (push gossip announces them).
  std::string tip_json() const;
};

/// The block new blocks must build on.
struct chain_tip {
  std::uint64_t height = 0;
  std::string hash;
  bool valid = false; // the chain's validity, reported with every mine
};

using block_ptr = std::shared_ptr<const block>;

/// A validated chain handed from a verifier to the chain actor (one owner).
using chain_ptr = std::shared_ptr<chain>;

/// Canonical transactions ({"data": v}) in arrival order.
using tx_list = std::vector<std::string>;

/// Where a miner's batch came from: the mempool's row numbers of its
/// transactions (removed from storage together with the block) and the
/// mempool's reorg epoch when it was taken.
struct batch_origin {
  std::vector<std::int64_t> seqs;
  std::uint64_t epoch = 0;
};

/// The pending transactions handed to the miner.
struct tx_batch {
  tx_list txs;
  batch_origin origin;
};

/// The mempool's side of a reorg: its storage change (committed by the
/// chain actor together with the new chain) and its new epoch.
struct mempool_delta {
  ledger_change change;
  std::uint64_t epoch = 0;
};

/// Answer to a mine request: the new block, or null when nothing was pending.
struct mine_outcome {
  block_ptr new_block;
  bool valid = false;
};

/// Answer to a registration: every known peer and the refused inputs.
struct register_outcome {
  std::vector<std::string> total;
  std::vector<std::string> invalid;
};

/// Answer to consensus (and to a replace request).
struct consensus_outcome {
  bool replaced = false;
  chain_view view;
};

/// What a chain fetch from one peer gave: its body, or why there is none.
struct fetch_result {
  bool ok = false;
  std::string body_or_error;
};

/// A peer's verified chain, or why it was skipped: the peer's chain is our
/// first `shared` blocks followed by `blocks` (from an HTTP peer, shared is
/// 0 and `blocks` is its whole chain; a native peer sends only what follows
/// the last block both hold).
struct verified_chain {
  chain_ptr blocks; // null when skipped
  std::string peer;
  std::string why_skipped;
  std::uint64_t shared = 0;

  std::uint64_t length() const {
    return blocks ? shared + blocks->size() : 0;
  }
};

/// A block locator: our block indexes (tip first, then at doubling
/// distances down to block 1) and their hashes. A native peer finds the
/// highest one it holds too: the fork point, within a factor of two.
struct block_locator {
  std::vector<std::uint64_t> indexes;
  std::vector<std::string> hashes;
};

/// Fetches GET /chain from a peer without blocking; calls `done` exactly once
/// (from any thread) within `deadline`. Injected into the gossiper, so the
/// actor layer does no network I/O itself and tests can supply fakes.
using chain_fetcher = std::function<void(
  const peer_address& peer, std::chrono::milliseconds deadline,
  std::function<void(fetch_result)> done)>;

// -- REST edge types (no Beast here: the transport converts) -----------------

struct rest_request {
  std::string method; // "GET", "POST", ...
  std::string path;   // target without the query string
  std::string body;
};

/// A JSON response assembled from parts, so a large shared chain body goes
/// out without being copied: prefix + chain list (if any) + suffix.
struct rest_response {
  unsigned status = 200;
  std::string prefix;
  std::shared_ptr<const chain_json> chain;
  std::string suffix;
  std::string allow; // Allow header for 405 answers
};

/// One-shot reply channel back to an HTTP session. If it is dropped without
/// an answer (a lost message, an actor that died), its destructor answers
/// 503 so that no client ever waits forever.
class responder {
public:
  using callback = std::function<void(rest_response)>;
  explicit responder(callback cb);
  ~responder();
  responder(const responder&) = delete;
  responder& operator=(const responder&) = delete;
  void respond(rest_response res);

private:
  callback cb_;
};

using responder_ptr = std::shared_ptr<responder>;

// -- the actors ---------------------------------------------------------------

/// A node's public face to natively linked nodes: the only actor published
/// with --caf-port, so remote nodes reach nothing else. Message types must
/// be ones CAF can serialize (registered in main for std::vector<uint64_t>).
using peer_actor = caf::typed_actor<
  /// Our height and tip hash.
  caf::replies_to<head_atom>::with<std::uint64_t, std::string>,
  /// For the asker's block locator (indexes, hashes): the index of the
  /// highest block both hold (0: none) and up to `max` of our blocks after
  /// it, as canonical JSON.
  caf::replies_to<blocks_atom, std::vector<std::uint64_t>,
                  std::vector<std::string>, std::uint64_t>::with<
    std::uint64_t, std::vector<std::string>>,
  /// Push gossip: a block the sender mined or adopted, and the sender's own
  /// public actor (to sync with when the block does not extend our tip).
  caf::reacts_to<announce_atom, std::string, caf::strong_actor_ptr>,
  /// The sender linked to us; its public actor. Push gossip then reaches it
  /// too, whichever side registered the other.
  caf::reacts_to<hello_atom, caf::strong_actor_ptr>>;

/// Anything that wants to hear of newly registered peers.
using peer_watcher_actor = caf::typed_actor<
  /// Peers to link with (all known ones on subscribing, then new ones).
  caf::reacts_to<link_atom, std::vector<peer_address>>>;

/// Owns the ledger's storage (storage/ledger_store.hpp). Runs detached: a
/// disk sync blocks its own thread, never the scheduler's.
using storage_actor = caf::typed_actor<
  /// Stores one change; answers once it is on disk. Changes that arrive
  /// while a sync runs are stored together by the next one (group commit);
  /// the answer is the number of changes that shared the sync.
  caf::replies_to<commit_atom, ledger_change>::with<std::uint64_t>,
  /// Internal: syncs the changes gathered so far.
  caf::reacts_to<flush_atom>>;

/// Anything that wants every new chain state as it happens.
using chain_watcher_actor = caf::typed_actor<
  /// The chain changed; sent before the change's requester is answered.
  caf::reacts_to<chain_view>>;

/// Owns the ledger: the one valid chain this node holds.
using chain_actor = caf::typed_actor<
  /// Publishes every new chain state to `watcher`, the current one at once.
  caf::reacts_to<subscribe_atom, chain_watcher_actor>,
  /// A snapshot of the whole chain (shared bytes, no copy).
  caf::replies_to<snapshot_atom>::with<chain_view>,
  /// The number of blocks held.
  caf::replies_to<height_atom>::with<std::uint64_t>,
  /// The block a new block must link to.
  caf::replies_to<tip_atom>::with<chain_tip>,
  /// Appends a block built on the current tip from a batch of the mempool;
  /// false when the tip has moved since or a reorg reconciled the mempool
  /// after the batch was taken (the miner then gives it back and retakes).
  caf::replies_to<append_atom, block_ptr, batch_origin>::with<bool>,
  /// Adopts our first `shared` blocks followed by `blocks` (a peer's
  /// verified chain, see verified_chain) when that is strictly longer than
  /// ours and links onto our block `shared`; with `collect_orphans`, has the
  /// mempool requeue the transactions the new chain dropped and forget those
  /// it carries, stored in one commit.
  caf::replies_to<replace_atom, std::uint64_t, chain_ptr, bool>::with<
    consensus_outcome>,
  /// A block announced by a peer: appended when it extends our tip.
  caf::replies_to<extend_atom, block_ptr>::with<bool>,
  /// Our height and tip hash (native peers ask).
  caf::replies_to<head_atom>::with<std::uint64_t, std::string>,
  /// Our block locator.
  caf::replies_to<locator_atom>::with<block_locator>,
  /// As peer_actor's blocks request.
  caf::replies_to<blocks_atom, std::vector<std::uint64_t>,
                  std::vector<std::string>, std::uint64_t>::with<
    std::uint64_t, std::vector<std::string>>,
  /// Removes the last block unless only the genesis block is left (evil).
  caf::replies_to<pop_atom>::with<block_ptr>>;

/// Owns the pending transactions.
using mempool_actor = caf::typed_actor<
  /// Queues one canonical transaction; answers the number pending.
  caf::replies_to<add_atom, std::string>::with<std::uint64_t>,
  /// Hands every pending transaction to the (single) miner as a batch that
  /// stays in flight until confirmed or given back.
  caf::replies_to<take_atom>::with<tx_batch>,
  /// The in-flight batch is in a block now: forget it.
  caf::reacts_to<confirm_atom>,
  /// The in-flight batch was not mined: back in front, in order.
  caf::reacts_to<restore_atom>,
  /// After a reorg: drops the transactions the adopted blocks carry from the
  /// pending ones and the in-flight batch (one per occurrence), then queues
  /// the orphaned ones in front. Answers the storage change, for the chain
  /// actor to commit with the new chain, and the new epoch.
  caf::replies_to<reconcile_atom, tx_list, tx_list>::with<mempool_delta>,
  /// The number of pending transactions.
  caf::replies_to<size_atom>::with<std::uint64_t>,
  /// Internal: sends the transactions added since the last flush to
  /// storage in one commit.
  caf::reacts_to<flush_atom>>;

/// Owns the set of registered peers.
using peer_registry_actor = caf::typed_actor<
  /// Registers addresses as given by users; answers all peers and refusals.
  caf::replies_to<register_atom, std::vector<std::string>>::with<
    register_outcome>,
  /// Tells `watcher` of every peer now and of new ones as they come.
  caf::reacts_to<subscribe_atom, peer_watcher_actor>,
  /// Every registered peer, in registration order.
  caf::replies_to<peers_atom>::with<std::vector<peer_address>>>;

/// Builds blocks from the pending transactions, one mine at a time.
using miner_actor = caf::typed_actor<
  /// Mines every pending transaction into one block on the current tip.
  caf::replies_to<mine_atom>::with<mine_outcome>>;

/// Verifies one peer's chain off the scheduler (spawned detached per fetch).
using verifier_actor = caf::typed_actor<
  /// Parses and validates a GET /chain body from `peer`; chains not longer
  /// than `min_height` are skipped before hashing.
  caf::replies_to<verify_atom, std::string, std::string, std::uint64_t>::with<
    verified_chain>,
  /// Parses and validates blocks a native peer sent after our block
  /// `shared` (whose hash is the last argument).
  caf::replies_to<verify_atom, std::vector<std::string>, std::string,
                  std::uint64_t, std::string>::with<verified_chain>>;

/// Runs consensus: pulls every peer's chain concurrently, each bounded by
/// the peer deadline, and hands the longest valid one to the chain actor.
/// Keeps the links to native peers (re-linking with backoff when they go
/// down) and, with push gossip, announces new tips to them.
using gossiper_actor = caf::typed_actor<
  /// One consensus round; answers whether our chain was replaced.
  caf::replies_to<consensus_atom>::with<consensus_outcome>,
  /// Links to the native peers among these (peer_watcher_actor).
  caf::reacts_to<link_atom, std::vector<peer_address>>,
  /// Internal: try linking to the native peer `address` again.
  caf::reacts_to<relink_atom, std::string>,
  /// Internal, with --sync-interval: a consensus round nobody waits for.
  caf::reacts_to<sync_atom>,
  /// A block announced by the native peer `origin` (from our native actor).
  caf::reacts_to<announced_atom, std::string, caf::strong_actor_ptr>,
  /// A native peer linked to us (from our native actor).
  caf::reacts_to<hello_atom, caf::strong_actor_ptr>,
  /// The chain changed (chain_watcher_actor): with push gossip, announce.
  caf::reacts_to<chain_view>,
  /// Our own native actor, named as the origin of our announcements.
  caf::reacts_to<face_atom, peer_actor>,
  /// Internal: the fetch of peer `index` in round `round` finished.
  caf::reacts_to<fetched_atom, std::uint64_t, std::uint64_t, fetch_result>,
  /// Internal: the peer deadline of round `round` has passed.
  caf::reacts_to<round_end_atom, std::uint64_t>>;

/// Turns REST requests into actor calls (routing lives here, not in the
/// transport, and ledger rules live in the model).
using edge_actor = caf::typed_actor<
  /// Serves one request; answers through the responder exactly once.
  caf::reacts_to<rest_request, responder_ptr>,
  /// The chain's latest state, published by the chain actor: GET /chain is
  /// answered from it without a round trip to the chain actor.
  caf::reacts_to<chain_view>,
  /// Internal, once a second: answers 503 for hot-path asks (transactions)
  /// that outlived ask_timeout. One sweep instead of a CAF request timeout
  /// per request: CAF 0.17's clock wakes its thread for every one of those.
  caf::reacts_to<sweep_atom>>;

/// The handles every request handler needs.
struct node_actors {
  storage_actor storage; // null when ephemeral
  peer_actor native;     // our public face to native peers
  chain_actor chain;
  mempool_actor mempool;
  peer_registry_actor peers;
  miner_actor miner;
  gossiper_actor gossiper;
};

/// How long one actor waits for another before giving up with an error.
inline constexpr std::chrono::seconds ask_timeout{30};

} // namespace dlt

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dlt::chain_view)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dlt::chain_tip)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dlt::chain_watcher_actor)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dlt::block_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dlt::ledger_change)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dlt::batch_origin)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dlt::tx_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dlt::mempool_delta)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dlt::block_locator)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dlt::peer_watcher_actor)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dlt::peer_actor)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dlt::chain_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dlt::mine_outcome)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dlt::register_outcome)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dlt::consensus_outcome)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dlt::fetch_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dlt::verified_chain)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dlt::peer_address)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<dlt::peer_address>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dlt::rest_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dlt::responder_ptr)
