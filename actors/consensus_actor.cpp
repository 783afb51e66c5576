// The consensus actor: pull consensus over every registered peer at once,
// over HTTP and natively.
//
// A round asks the registry for the peers and the chain for its block
// locator, then starts every peer's fetch concurrently: HTTP peers through
// the injected chain_fetcher (their whole chain), native peers through our
// face (their height, then only the blocks after the last block both hold;
// see native_pull.cpp). Each answer is handed to a fresh detached verifier.
// The round ends when every fetch and verification has finished, or at the
// peer deadline (verifications get verify_grace more): the longest valid
// chain then goes to the chain actor, which adopts it only if it is still
// strictly longer than ours. Client requests that arrive while a full round
// is under way join it.
//
// Every round is reported to the hub (consensus_finished) and, for full
// rounds, each peer's outcome to the registry, which evicts peers that keep
// failing.

#include "actors/consensus.hpp"

#include <algorithm>

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/log.hpp"
#include "actors/verifier.hpp"
#include "model/sha256.hpp"

namespace dlt {
namespace {

/// A verification still running at the peer deadline gets this much more.
constexpr std::chrono::milliseconds verify_grace{1000};

/// The word metrics and the registry count a failed HTTP fetch by.
std::string fetch_outcome(const fetch_result& res) {
  if (!res.result.empty())
    return res.result;
  return res.ok ? "ok" : "error";
}

std::string caf_outcome(const caf::error& err) {
  return err == caf::sec::request_timeout ? "timeout" : "error";
}

void deliver_all(round_state& r, const consensus_outcome& out) {
  for (auto& p : r.promises)
    p.deliver(out);
}

void report(consensus_ptr self, const round_state& r, bool replaced) {
  auto& st = self->state;
  consensus_finished e;
  e.replaced = replaced;
  e.asked = r.peers.size();
  e.duration_s =
    std::chrono::duration<double>(clock::now() - r.started).count();
  e.hit_deadline = false;
  for (std::size_t i = 0; i < r.peers.size(); ++i) {
    auto o = r.outcomes[i];
    if (o.result.empty())
      o = {r.peers[i].text, "timeout",
           "no answer within " + std::to_string(st.settings.peer_timeout.count())
             + " ms"};
    if (o.result != "timeout" && o.result != "unreachable"
        && o.result != "error") // it answered, whatever it said
      ++e.answered;
    if (o.result == "timeout") // by our deadline or the fetcher's own
      e.hit_deadline = true;
    e.peers.push_back(std::move(o));
  }
  if (r.full)
    self->send(st.registry, results_atom::value, e.peers);
  if (st.hub)
    self->send(st.hub, node_event{std::move(e)});
}

void sync_with_announcer(consensus_ptr self, std::uint64_t index,
                         caf::strong_actor_ptr origin);

/// An announced round ended: an announcement passed over meanwhile that is
/// still ahead of us starts the next sync.
void after_announced_round(consensus_ptr self) {
  auto& st = self->state;
  if (st.announced_rounds_open > 0 || !st.deferred_origin)
    return;
  auto index = st.deferred_index;
  auto origin = std::move(st.deferred_origin);
  st.deferred_index = 0;
  st.deferred_origin = nullptr;
  if (index > st.published->load().height)
    sync_with_announcer(self, index, std::move(origin));
}

void finish_round(consensus_ptr self, std::uint64_t id) {
  auto& st = self->state;
  auto it = st.rounds.find(id);
  auto round = std::make_shared<round_state>(std::move(it->second));
  st.rounds.erase(it);
  if (st.full_round == id)
    st.full_round = 0;
  if (round->announced)
    --st.announced_rounds_open;
  auto fail = [self, round](caf::error& err) {
    report(self, *round, false);
    for (auto& p : round->promises)
      p.deliver(err);
    if (round->announced)
      after_announced_round(self);
  };
  if (round->best.verified()) {
    const auto& best = round->best;
    log("consensus", "longest valid chain: ", best.length(), " blocks from ",
        best.peer,
        best.shared > 0 ? " (" + std::to_string(best.length() - best.shared)
                            + " sent after block " + std::to_string(best.shared)
                            + ")"
                        : std::string{});
    auto replace = [&](const auto& tail) {
      self
        ->request(st.chain, ask_timeout, replace_atom::value, best.shared,
                  tail, st.settings.requeue_orphans, best.peer)
        .then(
          [self, round](consensus_outcome& out) {
            report(self, *round, out.replaced);
            deliver_all(*round, out);
            if (round->announced)
              after_announced_round(self);
          },
          fail);
    };
    // A native peer's blocks come in segments, an HTTP peer's as blocks.
    if (best.segments)
      replace(best.segments);
    else
      replace(best.blocks);
    return;
  }
  self->request(st.chain, ask_timeout, snapshot_atom::value)
    .then(
      [self, round](chain_view& view) {
        report(self, *round, false);
        deliver_all(*round, consensus_outcome{false, std::move(view)});
        if (round->announced)
          after_announced_round(self);
      },
      fail);
}

} // namespace

void maybe_finish(consensus_ptr self, std::uint64_t id) {
  auto& r = self->state.rounds.at(id);
  if (!r.fetching)
    return; // peers and locator not in yet
  bool fetched = r.fetches_open == 0 || r.deadline_passed;
  if ((fetched && r.verifications_open == 0) || r.verify_passed)
    finish_round(self, id);
}

namespace {

void on_verified(consensus_ptr self, std::uint64_t id, std::uint64_t index,
                 verified_chain v) {
  auto it = self->state.rounds.find(id);
  if (it == self->state.rounds.end())
    return; // the round ended without waiting for it
  auto& r = it->second;
  --r.verifications_open;
  r.outcomes[index] = {r.peers[index].text, v.verified() ? "ok" : v.result,
                       v.why_skipped};
  if (!v.verified())
    log("consensus", "skipped ", v.peer, ": ", v.why_skipped);
  else if (v.length() > r.best.length())
    r.best = std::move(v);
  pull_done(self, id, index);
  maybe_finish(self, id);
}

} // namespace

std::uint64_t min_height(const round_state& r) {
  return std::max(r.our_height, r.best.length());
}

std::chrono::milliseconds remaining(const round_state& r) {
  return time_left(r.deadline);
}

round_state* take_fetch(consensus_ptr self, std::uint64_t id,
                        std::uint64_t index) {
  auto it = self->state.rounds.find(id);
  if (it == self->state.rounds.end())
    return nullptr; // a late answer from a round that has ended
  auto& r = it->second;
  if (index >= r.fetch_done.size() || r.fetch_done[index] || r.deadline_passed)
    return nullptr;
  r.fetch_done[index] = true;
  --r.fetches_open;
  return &r;
}

void skip_peer(consensus_ptr self, std::uint64_t id, std::uint64_t index,
               std::string result, const std::string& why) {
  if (auto r = take_fetch(self, id, index)) {
    log("consensus", "skipped ", r->peers[index].text, ": ", why);
    r->outcomes[index] = {r->peers[index].text, std::move(result), why};
    pull_done(self, id, index);
    maybe_finish(self, id);
  }
}

void skip_peer(consensus_ptr self, std::uint64_t id, std::uint64_t index,
               const caf::error& err) {
  skip_peer(self, id, index, caf_outcome(err), error_text(err));
}

void verify_tail(consensus_ptr self, std::uint64_t id, round_state& r,
                 std::uint64_t index, verifier_actor verifier) {
  ++r.verifications_open;
  auto peer = r.peers[index].text;
  auto timeout = time_left(r.deadline + verify_grace);
  self->request(verifier, timeout, verify_atom::value)
    .then(
      [self, id, index](verified_chain& v) {
        on_verified(self, id, index, std::move(v));
      },
      [self, id, index, peer](caf::error& err) {
        verified_chain v;
        v.peer = peer;
        v.result = caf_outcome(err);
        v.why_skipped = "verification did not finish: " + error_text(err);
        on_verified(self, id, index, std::move(v));
      });
}

namespace {

/// An HTTP peer's chain arrived, read and validated as it came in.
void on_fetched(consensus_ptr self, std::uint64_t id, std::uint64_t index,
                fetch_result& res) {
  if (!res.ok || !res.chain)
    return skip_peer(self, id, index, fetch_outcome(res), res.error);
  auto r = take_fetch(self, id, index);
  if (!r)
    return;
  verified_chain v;
  v.peer = r->peers[index].text;
  v.blocks = std::move(res.chain);
  if (v.length() <= min_height(*r)) { // a longer one came in meanwhile
    r->outcomes[index] = {v.peer, "not_longer",
                          "chain of " + std::to_string(v.length())
                            + " blocks is not longer than "
                            + std::to_string(min_height(*r))};
    return maybe_finish(self, id);
  }
  r->outcomes[index] = {v.peer, "ok", {}};
  r->best = std::move(v);
  maybe_finish(self, id);
}

void start_fetches(consensus_ptr self, std::uint64_t id,
                   std::vector<peer_address> peers,
                   std::vector<caf::strong_actor_ptr> handles,
                   block_locator locator) {
  auto& st = self->state;
  auto& r = st.rounds.at(id);
  r.peers = std::move(peers);
  r.handles = std::move(handles);
  r.handles.resize(r.peers.size());
  r.fetch_done.assign(r.peers.size(), false);
  r.outcomes.assign(r.peers.size(), peer_outcome{});
  r.fetches_open = r.peers.size();
  r.locator = std::move(locator);
  r.our_height = r.locator.indexes.empty() ? 0 : r.locator.indexes.front();
  r.deadline = clock::now() + st.settings.peer_timeout;
  r.fetching = true;
  if (r.peers.empty())
    return finish_round(self, id);
  auto handle = caf::actor_cast<consensus_actor>(self);
  for (std::uint64_t i = 0; i < r.peers.size(); ++i) {
    if (r.peers[i].native) {
      start_native_pull(self, id, i);
      continue;
    }
    st.fetch(r.peers[i], st.settings.peer_timeout, r.our_height,
             [handle, id, i](fetch_result res) {
               caf::anon_send(handle, fetched_atom::value, id, i, std::move(res));
             });
  }
  self->delayed_send(self, st.settings.peer_timeout, round_end_atom::value, id);
}

/// A round over `peers` (every registered one when not given; then it is a
/// full round, which later requests join).
std::uint64_t begin_round(consensus_ptr self,
                          std::optional<std::vector<peer_address>> peers = {},
                          std::vector<caf::strong_actor_ptr> handles = {}) {
  auto& st = self->state;
  auto id = st.next_round++;
  auto& r = st.rounds[id];
  r.started = clock::now();
  r.full = !peers;
  r.announced = !handles.empty();
  if (r.full)
    st.full_round = id;
  if (r.announced)
    ++st.announced_rounds_open;
  auto fail = [self, id](caf::error& err) {
    auto it = self->state.rounds.find(id);
    if (it == self->state.rounds.end())
      return;
    log("consensus", "a round could not start: ", error_text(err));
    for (auto& p : it->second.promises)
      p.deliver(err);
    it->second.promises.clear();
    it->second.fetching = true;
    finish_round(self, id);
  };
  auto with_peers = [self, id, handles, fail](std::vector<peer_address>& peers) {
    self->request(self->state.chain, ask_timeout, locator_atom::value)
      .then(
        [self, id, peers, handles](block_locator& loc) mutable {
          start_fetches(self, id, std::move(peers), std::move(handles),
                        std::move(loc));
        },
        fail);
  };
  if (peers)
    with_peers(*peers);
  else
    self->request(st.registry, ask_timeout, peers_atom::value)
      .then(with_peers, fail);
  return id;
}

/// Remembers the highest announcement a sync under way passes over.
void defer_sync(consensus_ptr self, std::uint64_t index,
                caf::strong_actor_ptr origin) {
  auto& st = self->state;
  if (index > st.deferred_index) {
    st.deferred_index = index;
    st.deferred_origin = std::move(origin);
  }
}

/// Syncs with the announcer of block `index` alone (one such round at a
/// time; an announcement that comes meanwhile is synced with after it,
/// if still ahead: nobody announces a block twice).
void sync_with_announcer(consensus_ptr self, std::uint64_t index,
                         caf::strong_actor_ptr origin) {
  if (self->state.announced_rounds_open > 0)
    return defer_sync(self, index, std::move(origin));
  // Named as total_nodes lists it, when it is a peer we registered.
  self->request(self->state.links, std::chrono::seconds(5), name_atom::value,
                origin)
    .then(
      [self, index, origin](std::string& name) {
        if (self->state.announced_rounds_open > 0)
          return defer_sync(self, index, origin);
        peer_address from;
        from.native = true;
        from.text = name.empty() ? "the announcer of block "
                                     + std::to_string(index)
                                 : name;
        begin_round(self, std::vector<peer_address>{from}, {origin});
      },
      [self](caf::error& err) {
        log("consensus", "no name for an announcer: ", error_text(err));
      });
}

/// Peers that announce a block while it is being fetched wait in line.
constexpr std::size_t max_alternates = 4;

void fetch_next_block(consensus_ptr self, std::uint64_t index, std::string hash,
                      caf::strong_actor_ptr origin);

/// The fetch of block `hash` from `origin` failed: the next peer that
/// announced it is asked (or, when it no longer follows our tip, synced
/// with); none left, the block may come with the next announcement.
void fetch_failed(consensus_ptr self, std::uint64_t index,
                  const std::string& hash) {
  auto& st = self->state;
  auto it = st.fetching.find(hash);
  if (it == st.fetching.end() || it->second.empty()) {
    if (it != st.fetching.end())
      st.fetching.erase(it);
    st.seen.forget(hash);
    return;
  }
  auto next = std::move(it->second.front());
  it->second.erase(it->second.begin());
  auto height = st.published->load().height;
  if (index <= height) { // it came another way meanwhile
    st.fetching.erase(it);
    return;
  }
  if (index == height + 1)
    return fetch_next_block(self, index, hash, std::move(next));
  st.fetching.erase(it);
  sync_with_announcer(self, index, std::move(next));
}

/// The announced block follows our tip: fetch just it from the announcer
/// and append it; anything else (a fork, a failure) falls back to a sync.
/// A fetch that fails turns to the next peer that announced the block.
void fetch_next_block(consensus_ptr self, std::uint64_t index, std::string hash,
                      caf::strong_actor_ptr origin) {
  auto& st = self->state;
  auto view = st.published->load();
  st.fetching[hash]; // later announcers wait in line
  auto ms = static_cast<std::uint64_t>(st.settings.peer_timeout.count());
  self
    ->request(st.face, st.settings.peer_timeout + std::chrono::seconds(1),
              blocks_atom::value, origin, ms,
              std::vector<std::uint64_t>{view.height},
              std::vector<std::string>{view.tip_hash}, std::uint64_t{1})
    .then(
      [self, index, hash, origin, height = view.height](
        std::uint64_t shared, std::vector<std::string>& got) {
        auto b = got.size() == 1 && shared == height
                   ? parse_block_text(got.front())
                   : result<block>{failure{"not the block after our tip"}};
        if (!b || b->hash != hash || b->index != index) {
          self->state.fetching.erase(hash);
          self->state.seen.forget(hash);
          return sync_with_announcer(self, index, origin);
        }
        auto next = std::make_shared<const block>(std::move(*b));
        self->request(self->state.chain, ask_timeout, extend_atom::value, next)
          .then(
            [self, index, hash, origin](bool extended) {
              self->state.fetching.erase(hash);
              // Not extended: our tip moved meanwhile; the sync decides.
              if (!extended)
                sync_with_announcer(self, index, origin);
            },
            [self, hash](caf::error& err) {
              self->state.fetching.erase(hash);
              log("consensus", "an announced block was not taken: ",
                  error_text(err));
            });
      },
      [self, index, hash](caf::error& err) {
        log("consensus", "an announced block could not be fetched: ",
            error_text(err));
        fetch_failed(self, index, hash);
      });
}

/// A native peer announced its tip. Blocks announced before (by it or by
/// any other peer) cost nothing, except that a block being fetched notes
/// its announcers as alternates; a block that follows our tip is fetched
/// from the announcer; one further ahead starts a sync with it.
void on_announced(consensus_ptr self, std::uint64_t index, std::string hash,
                  caf::strong_actor_ptr origin) {
  auto& st = self->state;
  if (!origin || !digest_from_hex(hash))
    return;
  if (auto it = st.fetching.find(hash); it != st.fetching.end()) {
    if (it->second.size() < max_alternates)
      it->second.push_back(std::move(origin));
    return;
  }
  if (!st.seen.insert(hash))
    return;
  auto view = st.published->load();
  if (index <= view.height)
    return; // not longer than ours
  if (index == view.height + 1)
    return fetch_next_block(self, index, std::move(hash), std::move(origin));
  sync_with_announcer(self, index, std::move(origin));
}

consensus_actor::behavior_type
consensus_behavior(consensus_ptr self, peer_registry_actor registry,
                   chain_actor chain, published_chain_ptr published,
                   links_actor links, peer_actor face, event_hub_actor hub,
                   chain_fetcher fetch, gossip_settings settings) {
  auto& st = self->state;
  st.published = std::move(published);
  st.registry = std::move(registry);
  st.chain = std::move(chain);
  st.links = std::move(links);
  st.face = std::move(face);
  st.hub = std::move(hub);
  st.fetch = std::move(fetch);
  st.settings = settings;
  st.settings.native_batch = std::max<std::uint64_t>(1, settings.native_batch);
  if (st.settings.sync_interval.count() > 0)
    self->delayed_send(self, st.settings.sync_interval, sync_atom::value);
  return {
    [self](consensus_atom) {
      auto promise = self->make_response_promise<consensus_outcome>();
      auto& st = self->state;
      auto id = st.full_round != 0 ? st.full_round : begin_round(self);
      st.rounds.at(id).promises.push_back(promise);
      return promise;
    },
    [self](fetched_atom, std::uint64_t id, std::uint64_t index,
           fetch_result& res) { on_fetched(self, id, index, res); },
    [self](round_end_atom, std::uint64_t id) {
      auto it = self->state.rounds.find(id);
      if (it == self->state.rounds.end())
        return;
      auto& r = it->second;
      if (!r.deadline_passed) {
        r.deadline_passed = true;
        for (std::size_t i = 0; i < r.peers.size(); ++i)
          if (!r.fetch_done[i])
            log("consensus", "skipped ", r.peers[i].text, ": no answer within ",
                self->state.settings.peer_timeout.count(), " ms");
        if (r.verifications_open > 0)
          self->delayed_send(self, verify_grace, round_end_atom::value, id);
      } else {
        r.verify_passed = true;
      }
      maybe_finish(self, id);
    },
    [self](sync_atom) {
      if (self->state.full_round == 0) // one periodic round at a time
        begin_round(self);
      self->delayed_send(self, self->state.settings.sync_interval,
                         sync_atom::value);
    },
    [self](announced_atom, std::uint64_t index, std::string& hash,
           caf::strong_actor_ptr& origin) {
      on_announced(self, index, std::move(hash), std::move(origin));
    },
  };
}

} // namespace

consensus_actor spawn_consensus(caf::actor_system& sys,
                                peer_registry_actor registry, chain_actor chain,
                                published_chain_ptr published, links_actor links,
                                peer_actor face, event_hub_actor hub,
                                chain_fetcher fetch, gossip_settings settings) {
  return sys.spawn(consensus_behavior, std::move(registry), std::move(chain),
                   std::move(published), std::move(links), std::move(face),
                   std::move(hub), std::move(fetch), settings);
}

} // namespace dlt
