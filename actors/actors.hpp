#pragma once
// The whole message protocol of a node, on one page.
//
// Every piece of state has exactly one owner actor; everything else asks it by
// message. Every request between actors has a deadline: a CAF timeout with an
// error handler (a CAF .then without one kills the requester on timeout), or,
// on the edge's hottest path, a once-a-second sweep that answers for it.
//
//   edge (http/) --> chain | mempool | peer_registry | miner | consensus | hub
//   miner --> mempool (take pending) --> chain (tip, append)
//   consensus --> peer_registry (peers, results), chain (locator, replace,
//                 extend), chain_fetcher (HTTP I/O, injected), verifier,
//                 links (a native peer's face), native (asks that face)
//   chain --> mempool (reconcile, during a reorg)
//   native (our face, published with --caf-port) <--> other nodes' faces
//   native --> consensus (announced), links (hello)
//   links --> link actors (one per native peer) --> CAF's middleman
//   links --> peer_registry (link up/down), native (announce, hello)
//   chain | mempool | peer_registry | consensus | storage --> hub (events)
//   hub --> subscribers (event sinks: SSE streams, metrics, links)
//
// Durability: a change is answered, published (published_chain) and
// reported as an event only after the storage actor has synced it to disk.
// The in-memory state moves on at once, and storage applies changes in the
// order they were sent, so what is on disk is always a state the node was in.
//
// Events (node_event), who emits them, and when:
//   chain:          block_appended (a mined block, or one announced by a
//                   native peer), chain_replaced (adopted by consensus or
//                   sync), block_popped (evil) -- each after its commit, in
//                   the order of the chain's states
//   mempool:        mempool_changed (transactions stored, mined, given back,
//                   requeued; the hub coalesces them)
//   peer_registry:  peers_changed (registered, unregistered, evicted, a
//                   native link up or down)
//   consensus:      consensus_finished (after the round's outcome is known)
//   storage:        ledger_committed (each group commit: size and duration)

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "model/block.hpp"
#include "model/chain.hpp"
#include "model/peer_address.hpp"
#include "model/sha256.hpp"
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
using info_atom = caf::atom_constant<caf::atom("info")>;
using link_atom = caf::atom_constant<caf::atom("link")>;
using locator_atom = caf::atom_constant<caf::atom("locator")>;
using linked_atom = caf::atom_constant<caf::atom("linked")>;
using relink_atom = caf::atom_constant<caf::atom("relink")>;
using results_atom = caf::atom_constant<caf::atom("results")>;
using sync_atom = caf::atom_constant<caf::atom("sync")>;
using append_atom = caf::atom_constant<caf::atom("append")>;
using checkpoint_atom = caf::atom_constant<caf::atom("checkpoint")>;
using commit_atom = caf::atom_constant<caf::atom("commit")>;
using confirm_atom = caf::atom_constant<caf::atom("confirm")>;
using consensus_atom = caf::atom_constant<caf::atom("consensus")>;
using fetched_atom = caf::atom_constant<caf::atom("fetched")>;
using flush_atom = caf::atom_constant<caf::atom("flush")>;
using height_atom = caf::atom_constant<caf::atom("height")>;
using mine_atom = caf::atom_constant<caf::atom("mine")>;
using name_atom = caf::atom_constant<caf::atom("name")>;
using open_atom = caf::atom_constant<caf::atom("open")>;
using peers_atom = caf::atom_constant<caf::atom("peers")>;
using pending_atom = caf::atom_constant<caf::atom("pending")>;
using pop_atom = caf::atom_constant<caf::atom("pop")>;
using register_atom = caf::atom_constant<caf::atom("register")>;
using replace_atom = caf::atom_constant<caf::atom("replace")>;
using reconcile_atom = caf::atom_constant<caf::atom("reconcile")>;
using restore_atom = caf::atom_constant<caf::atom("restore")>;
using round_end_atom = caf::atom_constant<caf::atom("round_end")>;
using size_atom = caf::atom_constant<caf::atom("size")>;
using stage_atom = caf::atom_constant<caf::atom("stage")>;
using stored_atom = caf::atom_constant<caf::atom("stored")>;
using snapshot_atom = caf::atom_constant<caf::atom("snapshot")>;
using status_atom = caf::atom_constant<caf::atom("status")>;
using subscribe_atom = caf::atom_constant<caf::atom("subscribe")>;
using sweep_atom = caf::atom_constant<caf::atom("sweep")>;
using take_atom = caf::atom_constant<caf::atom("take")>;
using tip_atom = caf::atom_constant<caf::atom("tip")>;
using unregister_atom = caf::atom_constant<caf::atom("unregister")>;
using verify_atom = caf::atom_constant<caf::atom("verify")>;

// -- errors -------------------------------------------------------------------------

/// Errors the actors answer with that the edge turns into particular HTTP
/// answers (every other error is a 503: the node failed, not the client).
enum class node_error : std::uint8_t {
  /// A bounded resource is full (the mempool): 503 with Retry-After.
  full = 1,
  /// The request itself cannot be taken as it is (a transaction larger than
  /// any block may carry): 413.
  too_large = 2,
  /// A state-changing step timed out after it was handed on: it may still
  /// take effect (the answer says so).
  outcome_unknown = 3,
  /// Nothing was done (e.g. the deadline passed before the work began).
  not_done = 4,
};

/// A CAF error of category "dlt" carrying `text`.
caf::error make_node_error(node_error code, std::string text);

/// The code of a "dlt" error, or nothing for other errors.
std::optional<node_error> node_error_code(const caf::error& err);

/// What went wrong, for answers and logs: the text of a "dlt" error, CAF's
/// rendering of any other.
std::string error_text(const caf::error& err);

/// An absolute deadline carried by requests that pass through several
/// actors: each hop asks the next one only for what is left of it, so a
/// failure answered in time means nothing happened, and a step that ran out
/// of time is reported as outcome_unknown.
using deadline_t = std::chrono::steady_clock::time_point;

/// What is left of `d`, at least 1 ms (CAF needs a positive timeout).
std::chrono::milliseconds time_left(deadline_t d);

// -- the chain as it is served --------------------------------------------------

/// A run of whole consecutive blocks in canonical form, joined by ", ".
/// Immutable once published: chain states share them.
struct json_segment {
  std::string text;
  /// ends[k]: the offset in `text` just after block first + k.
  std::vector<std::uint32_t> ends;
  /// hashes[k]: the hash of block first + k.
  std::vector<digest> hashes;
  std::uint64_t first = 1; // index of the first block

  std::uint64_t count() const { return ends.size(); }
  /// Block `index` (first <= index < first + count()).
  std::string_view block(std::uint64_t index) const;
  /// Appends the next block (while the segment is not yet published).
  void add(std::string_view json, const digest& hash);
};

/// Segments in order, as chain_json and the chain store hold them.
using json_segments = std::vector<std::shared_ptr<const json_segment>>;

/// A native peer's blocks after our block `shared` as the verifier leaves
/// them: already in segments (an answer's string itself when it is a run
/// of canonical blocks), so adopting them copies no block. The first
/// links to `anchor`, the hash of our block `shared` when we asked.
struct segment_tail {
  json_segments segments;
  std::string anchor;

  /// The number of blocks.
  std::uint64_t size() const;
};
using segment_tail_ptr = std::shared_ptr<segment_tail>;

/// The position in `segments` of the one holding block `index` (the last
/// whose first block is at most `index`; index >= the first one's first).
std::size_t segment_holding(const json_segments& segments, std::uint64_t index);

/// Blocks `first` to `last` (none when last < first) as runs of the
/// segments holding them: one run per segment, sharing it.
std::vector<block_run> runs_of(const json_segments& segments,
                               std::uint64_t first, std::uint64_t last);

/// The canonical block list "[b1, b2, ...]" as immutable segments: the
/// list is "[" + join(segment texts, ", ") + "]". Appending a block replaces
/// only the last segment, so a new chain state shares almost all of its
/// bytes with the previous one and is never concatenated whole.
struct chain_json {
  json_segments segments;

  /// Bytes of the whole list.
  std::size_t size() const;
  /// The whole list as one string (tests, tools).
  std::string str() const;
  /// The number of blocks.
  std::uint64_t blocks() const;
  /// Block `index` (1-based, at most blocks()): its canonical bytes.
  std::string_view block(std::uint64_t index) const;
  /// The hash of block `index`.
  const digest& hash(std::uint64_t index) const;
};

/// An immutable view of the chain at one moment, shared by every response
/// that serves it.
struct chain_view {
  std::shared_ptr<const chain_json> blocks;
  std::uint64_t height = 0;
  bool valid = false;
  std::string tip_hash;

  /// The last block's canonical bytes (push gossip announces them).
  std::string tip_json() const;
};

/// The chain's latest stored state, published by the chain actor before it
/// answers the request that led to it (so a client always reads its own
/// writes) and read by the HTTP edge for GET /chain and GET /blocks without
/// a round trip. The chain actor is its only writer.
class published_chain {
public:
  void store(chain_view view);
  chain_view load() const;

private:
  mutable std::mutex mutex_;
  chain_view view_;
};

using published_chain_ptr = std::shared_ptr<published_chain>;

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

/// How one peer's part of a consensus round ended. `result` is one of a
/// small set of words (metrics count by it): ok, not_longer, timeout,
/// unreachable, invalid, too_large, error.
struct peer_outcome {
  std::string peer;
  std::string result;
  std::string why; // empty when ok
};

// -- events -------------------------------------------------------------------------

/// A block appended to our tip: mined here ("mined") or announced by a
/// native peer ("gossip").
struct block_appended {
  block_ptr block;
  std::string origin;
};

/// Our chain replaced or extended by consensus or sync: we kept blocks up to
/// `fork_index` (0: none), dropped `dropped` and added `added` from `peer`.
struct chain_replaced {
  std::uint64_t fork_index = 0;
  std::uint64_t dropped = 0;
  std::uint64_t added = 0;
  std::string peer;
};

/// The last block removed by /action/evil.
struct block_popped {
  block_ptr block;
};

/// The mempool changed: `added` transactions queued (stored), `mined` of
/// them confirmed in a block, `pending` not yet in a block (queued or with
/// the miner). The hub coalesces these. `recent`: the last few added.
struct mempool_changed {
  std::uint64_t pending = 0;
  /// The mempool's count of changes when `pending` was taken. A reorg's
  /// share reaches the hub through the chain actor, after its commit, so
  /// it may arrive after a newer count: the hub keeps the newest.
  std::uint64_t version = 0;
  std::uint64_t added = 0;
  std::uint64_t mined = 0;
  std::uint64_t requeued = 0; // orphaned by a reorg, queued again
  tx_list recent;
};

/// The registered peers or a native link changed. `links`: each native
/// peer and "up" / "down"; `http`: native peers' HTTP addresses, once known.
struct peers_changed {
  std::vector<std::string> total_nodes;
  std::vector<std::pair<std::string, std::string>> links;
  std::vector<std::pair<std::string, std::string>> http;
};

/// A consensus round finished (asked by a client, by --sync-interval, or by
/// an announcement).
struct consensus_finished {
  bool replaced = false;
  std::uint64_t asked = 0;
  std::uint64_t answered = 0;
  double duration_s = 0;
  std::vector<peer_outcome> peers;
  /// The round reached its deadline with peers still unanswered.
  bool hit_deadline = false;
};

/// A group commit reached the disk (internal: metrics, not streamed).
struct ledger_committed {
  std::uint64_t changes = 0;
  double seconds = 0;
};

using event_payload =
  std::variant<block_appended, chain_replaced, block_popped, mempool_changed,
               peers_changed, consensus_finished, ledger_committed>;

// -- requests and answers ---------------------------------------------------------

/// The pending transactions handed to the miner.
struct tx_batch {
  tx_list txs;
  batch_origin origin;
};

/// The mempool's side of a reorg: its storage change (committed by the
/// chain actor together with the new chain), its new epoch, and its event
/// (reported by the chain actor once that commit is stored).
struct mempool_delta {
  ledger_change change;
  std::uint64_t epoch = 0;
  mempool_changed event;
};

/// Pending transactions as GET /transactions/pending lists them.
struct pending_list {
  std::uint64_t pending = 0;
  tx_list first; // the oldest ones, in queue order
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

/// Answer to an unregistration: the peers removed and those left.
struct unregister_outcome {
  std::vector<std::string> removed;
  std::vector<std::string> total;
};

/// Answer to consensus (and to a replace request).
struct consensus_outcome {
  bool replaced = false;
  chain_view view;
};

/// What a chain fetch from one peer gave: its chain, read and validated as
/// it arrived, or why there is none (`result`: the peer_outcome word, e.g.
/// not_longer, timeout, unreachable, invalid, too_large).
struct fetch_result {
  bool ok = false;
  chain_ptr chain; // when ok: a valid chain, from genesis
  std::string error;
  std::string result;
};

/// A peer's verified chain, or why it was skipped: the peer's chain is our
/// first `shared` blocks followed by `blocks` (from an HTTP peer, shared is
/// 0 and `blocks` is its whole chain; a native peer sends only what follows
/// the last block both hold).
struct verified_chain {
  chain_ptr blocks;          // from an HTTP peer; null when skipped
  segment_tail_ptr segments; // from a native peer; null when skipped
  std::string peer;
  std::string why_skipped;
  std::string result = "ok"; // see peer_outcome
  std::uint64_t shared = 0;

  bool verified() const { return blocks || segments; }
  std::uint64_t length() const {
    return blocks     ? shared + blocks->size()
           : segments ? shared + segments->size()
                      : 0;
  }
};

/// A block locator: our block indexes (tip first, then at doubling
/// distances down to block 1) and their hashes. A native peer finds the
/// highest one it holds too: the fork point, within a factor of two.
struct block_locator {
  std::vector<std::uint64_t> indexes;
  std::vector<std::string> hashes;
};

/// Fetches GET /chain from a peer without blocking and reads it into a
/// validated chain as it arrives (a chain of at most `min_length` blocks is
/// "not_longer"); calls `done` exactly once (from any thread) within
/// `deadline`. Injected into the consensus actor, so the actor layer does no
/// network I/O itself and tests can supply fakes.
using chain_fetcher = std::function<void(
  const peer_address& peer, std::chrono::milliseconds deadline,
  std::uint64_t min_length, std::function<void(fetch_result)> done)>;

// -- events as the hub hands them out ------------------------------------------

/// Something that happened to the node, reported by the state's owner once
/// it is acknowledged (stored). Chain events carry the chain's state after
/// the change.
struct node_event {
  node_event() = default;
  node_event(event_payload w, std::uint64_t h = 0, std::string t = {})
    : what(std::move(w)), height(h), tip(std::move(t)) {
  }

  event_payload what;
  std::uint64_t height = 0; // block_appended, chain_replaced, block_popped
  std::string tip;
};

/// An event as the hub numbered and rendered it, shared by every subscriber.
struct event_record {
  std::uint64_t id = 0;
  double time = 0;          // wall clock when the hub took it (seconds)
  node_event event;
  std::string name;         // SSE event name; empty for internal events
  std::string data;         // one line of JSON; empty for internal events
};

using event_ptr = std::shared_ptr<const event_record>;

/// A subscriber of the hub. offer() is called from the hub's thread and must
/// not block; it returns false when the subscriber cannot keep up (or is
/// gone), and the hub then drops it.
class event_sink {
public:
  virtual ~event_sink() = default;
  virtual bool offer(const event_ptr& e) = 0;
  /// Whether it also wants every mempool change as it comes (an unnumbered
  /// record, id 0), besides the coalesced ones: counters that must be
  /// exact at every moment (metrics) do.
  virtual bool wants_every_change() const { return false; }
  /// For log lines.
  virtual std::string name() const = 0;
};

using event_sink_ptr = std::shared_ptr<event_sink>;

/// What GET /status and an SSE snapshot report.
struct node_status {
  std::uint64_t last_event_id = 0;
  chain_view chain;
  std::uint64_t pending = 0;
  peers_changed peers;
};

// -- the actors ---------------------------------------------------------------

/// Runs consensus: pulls every peer's chain concurrently (HTTP peers by
/// the injected chain_fetcher, native peers through our face), each bounded
/// by the peer deadline, and hands the longest valid one to the chain actor.
using consensus_actor = caf::typed_actor<
  /// A consensus round over every registered peer; a request that arrives
  /// while one is under way joins it and gets its outcome.
  caf::replies_to<consensus_atom>::with<consensus_outcome>,
  /// A tip (index, hash) announced by the native peer `origin` (from our
  /// face): the block is fetched from it and appended when it extends our
  /// tip, the announcer synced with when it is further ahead; announcements
  /// of blocks seen before cost nothing.
  caf::reacts_to<announced_atom, std::uint64_t, std::string,
                 caf::strong_actor_ptr>,
  /// Internal, with --sync-interval: a consensus round nobody waits for.
  caf::reacts_to<sync_atom>,
  /// Internal: the fetch of peer `index` in round `round` finished.
  caf::reacts_to<fetched_atom, std::uint64_t, std::uint64_t, fetch_result>,
  /// Internal: the peer deadline of round `round` has passed.
  caf::reacts_to<round_end_atom, std::uint64_t>>;

/// Keeps the links to native peers (one link_actor each) and, with push
/// gossip, announces every new tip of ours to linked peers and to peers that
/// linked to us.
using links_actor = caf::typed_actor<
  /// Events it subscribed to: registered peers (link, unlink) and new tips.
  caf::reacts_to<event_ptr>,
  /// The face of native peer `address` (as listed in total_nodes), linking
  /// first when needed, within `ms` milliseconds; an error when it cannot
  /// be linked.
  caf::replies_to<link_atom, std::string, std::uint64_t>::with<
    caf::strong_actor_ptr>,
  /// A node's face linked to us (from our face).
  caf::reacts_to<hello_atom, caf::strong_actor_ptr>,
  /// How the peer whose face is `face` is listed in total_nodes (empty when
  /// it is not a registered peer we are linked to).
  caf::replies_to<name_atom, caf::strong_actor_ptr>::with<std::string>,
  /// Internal, from a link actor: `address` is linked to `face` (null: the
  /// link is down).
  caf::reacts_to<linked_atom, std::string, caf::strong_actor_ptr>>;

/// One native peer's link, a state machine: waiting (to retry, with
/// backoff), connecting, linked (monitored).
using link_actor = caf::typed_actor<
  /// The peer's face once linked: at once when linked, after the attempt
  /// under way, or after a new attempt made at once; an error when linking
  /// fails.
  caf::replies_to<link_atom>::with<caf::strong_actor_ptr>,
  /// Internal: the backoff has passed, try again.
  caf::reacts_to<relink_atom>,
  /// Internal: the connector's outcome, the peer's face or why there is
  /// none (error not empty).
  caf::reacts_to<open_atom, caf::strong_actor_ptr, std::string>>;

/// Opens a native connection to `peer` and hands back its face (the one
/// actor it publishes), or why not: calls `done` exactly once, from any
/// thread, within about `timeout`. Injected, like chain_fetcher, so links
/// are plain or TLS in one place: dlt-node's comes from its front
/// (net/front.hpp), which carries every native connection;
/// plain_native_connector() lets CAF's middleman connect by itself (actor
/// systems without a front, as in unit tests).
using native_connector = std::function<void(
  const peer_address& peer, std::chrono::milliseconds timeout,
  std::function<void(caf::strong_actor_ptr face, std::string error)> done)>;

/// A node's face to natively linked nodes: the only actor published with
/// --caf-port, and the only one that sends to or hears from other nodes, so
/// every frame between nodes is addressed to one face or another and no
/// other actor's handle ever leaves the node. It answers remote nodes itself,
/// from the published chain. Handlers marked internal are refused unless
/// the sender is an actor of this node. Remote message types must be ones
/// CAF can serialize (std::vector<uint64_t> is registered in
/// configure_native).
using peer_actor = caf::typed_actor<
  /// Our height and tip hash.
  caf::replies_to<head_atom>::with<std::uint64_t, std::string>,
  /// For the asker's block locator (indexes, hashes): the index of the
  /// highest block both hold (0: none) and up to `max` of our blocks after
  /// it, as canonical JSON: each string a run of consecutive blocks joined
  /// by ", " as the chain holds them, the last block alone (100,000 blocks
  /// as 100,000 strings cost 50 ms to serialize and as much to read back).
  caf::replies_to<blocks_atom, std::vector<std::uint64_t>,
                  std::vector<std::string>, std::uint64_t>::with<
    std::uint64_t, std::vector<std::string>>,
  /// Push gossip: the sending node's new tip, its index and hash. The
  /// sender (another node's face) is asked for the block only when it is
  /// new to us, so a block travels once per link that needs it.
  caf::reacts_to<announce_atom, std::uint64_t, std::string>,
  /// The sending node's face linked to us: push gossip reaches it too,
  /// whichever side registered the other.
  caf::reacts_to<hello_atom>,
  /// Our HTTP address ("host:port"), for explorers watching the network.
  caf::replies_to<info_atom>::with<std::string>,
  /// Internal: asks the face `peer` for its head within `ms` milliseconds.
  caf::replies_to<head_atom, caf::strong_actor_ptr, std::uint64_t>::with<
    std::uint64_t, std::string>,
  /// Internal: asks the face `peer` for blocks (as above) within `ms`.
  caf::replies_to<blocks_atom, caf::strong_actor_ptr, std::uint64_t,
                  std::vector<std::uint64_t>, std::vector<std::string>,
                  std::uint64_t>::with<std::uint64_t, std::vector<std::string>>,
  /// Internal: asks the face `peer` for its HTTP address within `ms`.
  caf::replies_to<info_atom, caf::strong_actor_ptr, std::uint64_t>::with<
    std::string>,
  /// Internal: announces our tip (index, hash) to the face `peer`.
  caf::reacts_to<announce_atom, caf::strong_actor_ptr, std::uint64_t,
                 std::string>,
  /// Internal: says hello to the face `peer`.
  caf::reacts_to<hello_atom, caf::strong_actor_ptr>,
  /// Internal: where announcements (consensus) and hellos (links) go.
  caf::reacts_to<consensus_actor, links_actor>>;

/// Numbers the owners' events, keeps the last ones for streams that
/// reconnect, and fans them out to subscribers. A subscriber that cannot
/// keep up is dropped (with a log line), so no subscriber can grow the
/// node's memory or slow a write.
using event_hub_actor = caf::typed_actor<
  /// An owner reports an acknowledged change.
  caf::reacts_to<node_event>,
  /// Subscribes `sink`. With `after` > 0 (a stream reconnecting), first
  /// replays the buffered events after that id when they are all still
  /// buffered; otherwise (or with after = 0) `snapshot` decides whether a
  /// snapshot record (name "snapshot") comes first.
  caf::reacts_to<subscribe_atom, event_sink_ptr, std::uint64_t, bool>,
  /// The node's state as the events tell it (GET /status).
  caf::replies_to<status_atom>::with<node_status>,
  /// Internal: emits the coalesced transaction event.
  caf::reacts_to<flush_atom>>;

/// Owns the ledger's storage (storage/ledger_store.hpp). Runs detached: a
/// disk sync blocks its own thread, never the scheduler's.
using storage_actor = caf::typed_actor<
  /// Stores one change; answers once it is on disk. Changes that arrive
  /// while a sync runs are stored together by the next one (group commit);
  /// the answer is the number of changes that shared the sync.
  caf::replies_to<commit_atom, ledger_change>::with<std::uint64_t>,
  /// A first part of a long change (an adopted chain's blocks), sent while
  /// its sender still prepares the rest: written at once, committed by the
  /// sender's next commit. Changes from others meanwhile wait for that sync.
  caf::reacts_to<stage_atom, ledger_change>,
  /// Internal: syncs the changes gathered so far.
  caf::reacts_to<flush_atom>,
  /// Internal: copies a long write-ahead log into the database once the
  /// answers are out, so the next change does not wait for it.
  caf::reacts_to<checkpoint_atom>>;

/// Owns the ledger: the one valid chain this node holds.
using chain_actor = caf::typed_actor<
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
  /// verified chain from `peer`, see verified_chain) when that is strictly
  /// longer than ours and links onto our block `shared`; with
  /// `collect_orphans`, has the mempool requeue the transactions the new
  /// chain dropped and forget those it carries, stored in one commit.
  caf::replies_to<replace_atom, std::uint64_t, chain_ptr, bool,
                  std::string>::with<consensus_outcome>,
  /// The same for a native peer's blocks, in segments (see segment_tail).
  caf::replies_to<replace_atom, std::uint64_t, segment_tail_ptr, bool,
                  std::string>::with<consensus_outcome>,
  /// A block announced by a peer: appended when it extends our tip.
  caf::replies_to<extend_atom, block_ptr>::with<bool>,
  /// Our block locator.
  caf::replies_to<locator_atom>::with<block_locator>,
  /// Removes the last block unless only the genesis block is left (evil).
  caf::replies_to<pop_atom>::with<block_ptr>>;

/// Owns the pending transactions.
using mempool_actor = caf::typed_actor<
  /// Queues one canonical transaction; answers the number pending.
  caf::replies_to<add_atom, std::string>::with<std::uint64_t>,
  /// Hands every pending transaction to the (single) miner as a batch that
  /// stays in flight until confirmed (see below) or given back.
  caf::replies_to<take_atom>::with<tx_batch>,
  /// These transactions of the in-flight batch (by number) are in a block
  /// now, or their fate cannot be told: no reorg's reconciliation touches
  /// them again. The chain actor sends it as it takes the block, before
  /// anything it asks later. They stay listed as pending until stored_atom
  /// (or a reorg, which comes after the block in storage).
  caf::reacts_to<confirm_atom, std::vector<std::int64_t>>,
  /// From the miner: the confirmed transactions' block is stored (or the
  /// append's outcome is unknown): forgets them and reports them mined
  /// (events tell only stored states).
  caf::reacts_to<stored_atom>,
  /// The in-flight batch was not mined: back in front, in order.
  caf::reacts_to<restore_atom>,
  /// After a reorg: drops the transactions the adopted blocks carry from the
  /// pending ones and the in-flight batch (one per occurrence), then queues
  /// the orphaned ones in front. Answers the storage change, for the chain
  /// actor to commit with the new chain, and the new epoch.
  caf::replies_to<reconcile_atom, tx_list, tx_list>::with<mempool_delta>,
  /// The number of pending transactions.
  caf::replies_to<size_atom>::with<std::uint64_t>,
  /// The number pending and the first `limit` of them.
  caf::replies_to<pending_atom, std::uint64_t>::with<pending_list>,
  /// Internal: sends the transactions added since the last flush to
  /// storage in one commit.
  caf::reacts_to<flush_atom>>;

/// Owns the set of registered peers and what is known of their health.
using peer_registry_actor = caf::typed_actor<
  /// Registers addresses as given by users; answers all peers and refusals.
  caf::replies_to<register_atom, std::vector<std::string>>::with<
    register_outcome>,
  /// Removes peers (addresses as given by users or as listed).
  caf::replies_to<unregister_atom, std::vector<std::string>>::with<
    unregister_outcome>,
  /// Every registered peer, in registration order.
  caf::replies_to<peers_atom>::with<std::vector<peer_address>>,
  /// How each peer fared in a consensus round (for eviction).
  caf::reacts_to<results_atom, std::vector<peer_outcome>>,
  /// A native peer's link went up (with its HTTP address when known) or
  /// down.
  caf::reacts_to<linked_atom, std::string, bool, std::string>>;

/// Builds blocks from the pending transactions, one mine at a time.
using miner_actor = caf::typed_actor<
  /// Mines the oldest pending transactions that fit into one block on the
  /// current tip, by the deadline (a mine still queued then is not done;
  /// an append that outlives it answers outcome_unknown).
  caf::replies_to<mine_atom, deadline_t>::with<mine_outcome>>;

/// Verifies the blocks a native peer sends after the last block both hold,
/// off the scheduler (spawned detached, one per pull, see spawn_verifier):
/// each answer is parsed as it arrives, while the next one travels. HTTP
/// peers' chains are read and validated as they arrive, by the
/// chain_fetcher.
using verifier_actor = caf::typed_actor<
  /// Parses the peer's next answer: strings of one or more blocks joined
  /// by ", ", in order, following the blocks of the answers before. After
  /// a bad block, further answers are ignored.
  caf::reacts_to<verify_atom, std::vector<std::string>>,
  /// The verdict on every answer taken, their links checked from the
  /// anchor on: the peer's verified chain, or why not (the first block
  /// that does not parse, else the first link that does not hold). The
  /// verifier then quits.
  caf::replies_to<verify_atom>::with<verified_chain>>;

/// The handles every request handler needs.
struct node_actors {
  event_hub_actor hub;
  published_chain_ptr published; // the chain's latest stored state
  storage_actor storage; // null when ephemeral
  peer_actor native;     // our face to native peers
  chain_actor chain;
  mempool_actor mempool;
  peer_registry_actor peers;
  miner_actor miner;
  consensus_actor consensus;
  links_actor links;
};

/// How long one actor waits for another before giving up with an error.
inline constexpr std::chrono::seconds ask_timeout{30};

} // namespace dlt

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dlt::chain_view)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dlt::deadline_t)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dlt::chain_tip)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dlt::block_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dlt::ledger_change)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dlt::batch_origin)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dlt::tx_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dlt::mempool_delta)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dlt::pending_list)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dlt::block_locator)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dlt::peer_actor)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dlt::consensus_actor)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dlt::links_actor)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dlt::chain_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dlt::segment_tail_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dlt::mine_outcome)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dlt::register_outcome)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dlt::unregister_outcome)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dlt::consensus_outcome)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dlt::fetch_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dlt::verified_chain)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dlt::peer_address)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<dlt::peer_address>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<dlt::peer_outcome>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dlt::node_event)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dlt::event_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dlt::event_sink_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dlt::node_status)
