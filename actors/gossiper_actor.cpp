// The gossiper actor: pull consensus over every registered peer at once,
// over HTTP and over CAF (native peers), and push gossip to native peers.
//
// A round asks the registry for the peers and the chain for its block
// locator, then starts every peer's fetch concurrently: HTTP peers through
// the injected chain_fetcher (their whole chain), native peers by actor
// messages (their height, then only the blocks after the last block both
// hold). Each answer is handed to a fresh detached verifier (parsing and
// hashing a long chain is CPU work that must not starve the scheduler). The
// round ends when every fetch has finished or the peer deadline has passed,
// and every started verification has answered; the longest valid chain then
// goes to the chain actor, which adopts it only if it is still strictly
// longer than ours.
//
// Native peers are linked through CAF's middleman as soon as they are
// registered, monitored, and linked again with backoff when they go down.
// With push gossip, every new tip of ours is announced to them; an
// announced block that extends our tip is appended, and one further ahead
// starts a round with the announcer alone. A node announces only when its
// own chain changed, so an announcement dies out once every node has it.

#include <malloc.h>

#include <algorithm>
#include <map>
#include <optional>

#include <caf/actor_system.hpp>
#include <caf/io/middleman.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/log.hpp"
#include "actors/spawn.hpp"
#include "model/json_parse.hpp"

namespace dlt {
namespace {

/// Verifying is our own CPU work, bounded by the peer response size; this
/// only guards against a verifier that never answers.
constexpr std::chrono::seconds verify_timeout{300};

/// Slack after the peer deadline for fetches that end right at it.
constexpr std::chrono::milliseconds deadline_grace{100};

/// Linking to a native peer: how long one attempt may take, and the waits
/// between attempts (doubling up to the last).
constexpr std::chrono::seconds link_timeout{10};
constexpr std::chrono::milliseconds first_backoff{250};
constexpr std::chrono::milliseconds last_backoff{10000};


using consensus_promise = caf::typed_response_promise<consensus_outcome>;
using clock = std::chrono::steady_clock;

struct round_state {
  std::optional<consensus_promise> promise; // none: nobody waits
  std::vector<peer_address> peers;
  /// Per peer: a native handle given with the round (an announcer).
  std::vector<peer_actor> handles;
  std::vector<bool> fetch_done;
  std::size_t fetches_open = 0;
  std::size_t verifications_open = 0;
  block_locator locator;
  std::uint64_t our_height = 0;
  clock::time_point deadline;
  bool deadline_passed = false;
  bool announced = false; // started by an announcement
  verified_chain best;
};

struct native_link {
  peer_address addr;
  peer_actor handle; // null while not linked
  bool connecting = false;
  std::chrono::milliseconds backoff{first_backoff};
  /// Fetches of rounds waiting for this link: (round, peer index).
  std::vector<std::pair<std::uint64_t, std::uint64_t>> waiting;
};

struct gossiper_state {
  peer_registry_actor registry;
  chain_actor chain;
  bool requeue_orphans = false;
  chain_fetcher fetch;
  std::chrono::milliseconds peer_timeout{0};
  std::map<std::uint64_t, round_state> rounds;
  std::uint64_t next_round = 1;
  std::map<std::string, native_link> links; // by address text
  /// Native peers that linked to us (hello), for push gossip.
  std::vector<peer_actor> inbound;
  peer_actor face;                          // our own native actor
  bool push = false;
  std::chrono::milliseconds sync_interval{0};
  std::uint64_t native_batch = 0;
  std::string last_tip_hash; // the last tip announced, and its bytes
  std::string last_tip_json;
  std::size_t announced_rounds_open = 0;
  static inline const char* name = "gossiper";
};

using gossiper_ptr = gossiper_actor::stateful_pointer<gossiper_state>;

// -- verifier --------------------------------------------------------------------

verified_chain verify_body(const std::string& body, const std::string& peer,
                           std::uint64_t min_height) {
  verified_chain out;
  out.peer = peer;
  auto doc = parse_json(body);
  if (!doc) {
    out.why_skipped = "answer is not acceptable JSON: " + doc.error();
    return out;
  }
  if (!doc->is_object() || !doc->contains("chain")) {
    out.why_skipped = "answer has no \"chain\"";
    return out;
  }
  auto& blocks = (*doc)["chain"];
  if (!blocks.is_array()) {
    out.why_skipped = "\"chain\" is not a list";
    return out;
  }
  if (blocks.size() <= min_height) {
    out.why_skipped = "chain of " + std::to_string(blocks.size())
                      + " blocks is not longer than " + std::to_string(min_height);
    return out;
  }
  auto parsed = chain_from_json(blocks);
  if (!parsed) {
    out.why_skipped = "invalid chain: " + parsed.error();
    return out;
  }
  out.blocks = std::make_shared<chain>(std::move(*parsed));
  return out;
}

verified_chain verify_blocks(const std::vector<std::string>& jsons,
                             const std::string& peer, std::uint64_t shared,
                             const std::string& anchor) {
  verified_chain out;
  out.peer = peer;
  out.shared = shared;
  chain tail;
  tail.reserve(jsons.size());
  for (const auto& json : jsons) {
    auto doc = parse_json(json);
    auto b = doc ? block_from_json(*doc) : result<block>{failure{doc.error()}};
    if (!b) {
      out.why_skipped = "block " + std::to_string(shared + tail.size() + 1)
                        + ": " + b.error();
      return out;
    }
    tail.push_back(std::move(*b));
  }
  if (auto err = links_error(anchor, shared + 1, tail)) {
    out.why_skipped = "invalid chain: " + *err;
    return out;
  }
  out.blocks = std::make_shared<chain>(std::move(tail));
  return out;
}

verifier_actor::behavior_type verifier_behavior(verifier_actor::pointer self) {
  return {
    [self](verify_atom, const std::vector<std::string>& jsons,
           const std::string& peer, std::uint64_t shared,
           const std::string& anchor) {
      self->quit();
      return verify_blocks(jsons, peer, shared, anchor);
    },
    [self](verify_atom, const std::string& body, const std::string& peer,
           std::uint64_t min_height) {
      self->quit(); // one job per verifier
      auto result = verify_body(body, peer, min_height);
      // The parse tree just freed is about ten times the chain's JSON; hand
      // its pages back to the system rather than keep them mapped for good.
      // On this detached thread the time it takes blocks no other actor.
      // (Not under AddressSanitizer: its allocator replaces glibc's, whose
      // malloc_trim then crashes on arenas that were never set up.)
#ifndef __SANITIZE_ADDRESS__
      malloc_trim(0);
#endif
      return result;
    },
  };
}

// -- rounds ------------------------------------------------------------------------

void finish_round(gossiper_ptr self, std::uint64_t id) {
  auto it = self->state.rounds.find(id);
  round_state round = std::move(it->second);
  self->state.rounds.erase(it);
  if (round.announced)
    --self->state.announced_rounds_open;
  auto promise = round.promise;
  auto deliver = [promise](consensus_outcome out) mutable {
    if (promise)
      promise->deliver(std::move(out));
  };
  auto on_error = [promise](caf::error& err) mutable {
    if (promise)
      promise->deliver(err);
  };
  if (round.best.blocks) {
    log("gossiper", "longest valid chain: ", round.best.length(),
        " blocks from ", round.best.peer,
        round.best.shared > 0
          ? " (" + std::to_string(round.best.blocks->size())
              + " sent after block " + std::to_string(round.best.shared) + ")"
          : std::string{});
    self
      ->request(self->state.chain, ask_timeout, replace_atom::value,
                round.best.shared, round.best.blocks,
                self->state.requeue_orphans)
      .then(deliver, on_error);
  } else {
    self->request(self->state.chain, ask_timeout, snapshot_atom::value)
      .then(
        [deliver](chain_view& view) mutable {
          deliver(consensus_outcome{false, std::move(view)});
        },
        on_error);
  }
}

void maybe_finish(gossiper_ptr self, std::uint64_t id) {
  auto& r = self->state.rounds.at(id);
  if ((r.fetches_open == 0 || r.deadline_passed) && r.verifications_open == 0)
    finish_round(self, id);
}

void on_verified(gossiper_ptr self, std::uint64_t id, verified_chain v) {
  auto it = self->state.rounds.find(id);
  if (it == self->state.rounds.end())
    return;
  auto& r = it->second;
  --r.verifications_open;
  if (!v.blocks)
    log("gossiper", "skipped ", v.peer, ": ", v.why_skipped);
  else if (v.length() > r.best.length())
    r.best = std::move(v);
  maybe_finish(self, id);
}

/// Only a chain longer than ours and than the best so far can win.
std::uint64_t min_height(const round_state& r) {
  return std::max(r.our_height, r.best.length());
}

/// Marks peer `index` of round `id` as answered; the round, or null when
/// the answer comes too late to count.
round_state* take_fetch(gossiper_ptr self, std::uint64_t id,
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

void skip_peer(gossiper_ptr self, std::uint64_t id, std::uint64_t index,
               const std::string& why) {
  if (auto r = take_fetch(self, id, index)) {
    log("gossiper", "skipped ", r->peers[index].text, ": ", why);
    maybe_finish(self, id);
  }
}

/// Verifies what peer `index` sent on a detached verifier.
template <class... Ts>
void verify(gossiper_ptr self, std::uint64_t id, round_state& r,
            std::uint64_t index, Ts&&... xs) {
  ++r.verifications_open;
  auto peer = r.peers[index].text;
  auto verifier = self->spawn<caf::detached>(verifier_behavior);
  self->request(verifier, verify_timeout, verify_atom::value,
                std::forward<Ts>(xs)...)
    .then([self, id](verified_chain& v) { on_verified(self, id, std::move(v)); },
          [self, id, peer](caf::error& err) {
            verified_chain v;
            v.peer = peer;
            v.why_skipped = "verification failed: " + self->system().render(err);
            on_verified(self, id, std::move(v));
          });
}

void on_fetched(gossiper_ptr self, std::uint64_t id, std::uint64_t index,
                fetch_result& res) {
  if (!res.ok)
    return skip_peer(self, id, index, res.body_or_error);
  auto r = take_fetch(self, id, index);
  if (!r)
    return;
  // The verifier skips chains that cannot win before hashing anything.
  verify(self, id, *r, index, std::move(res.body_or_error), r->peers[index].text,
         min_height(*r));
}

std::chrono::milliseconds remaining(const round_state& r) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
    r.deadline - clock::now());
  return std::max(left, std::chrono::milliseconds{1});
}

/// What a pull from a native peer has gathered so far.
struct native_pull {
  peer_actor peer;
  std::uint64_t height = 0;        // the peer's, as it said
  std::uint64_t shared = 0;        // the last block both hold
  std::string anchor;              // its hash
  std::vector<std::string> blocks; // the peer's blocks after it, in order
};

/// Asks for the blocks after the last one both hold, in batches of at most
/// native_batch, until the peer's height is reached: the first batch
/// answers our locator, every further one continues after the last block
/// received.
void pull_blocks(gossiper_ptr self, std::uint64_t id, std::uint64_t index,
                 std::shared_ptr<native_pull> pull,
                 std::vector<std::uint64_t> indexes,
                 std::vector<std::string> hashes) {
  auto& r = self->state.rounds.at(id);
  auto batch = self->state.native_batch;
  bool first = pull->blocks.empty();
  self
    ->request(pull->peer, remaining(r), blocks_atom::value, std::move(indexes),
              std::move(hashes), batch)
    .then(
      [self, id, index, pull, batch, first](std::uint64_t shared,
                                            std::vector<std::string>& got) {
        auto it = self->state.rounds.find(id);
        if (it == self->state.rounds.end())
          return;
        if (got.size() > batch)
          return skip_peer(self, id, index, "sent more blocks than asked for");
        if (first) {
          const auto& loc = it->second.locator;
          auto at = std::find(loc.indexes.begin(), loc.indexes.end(), shared);
          if (shared != 0 && at == loc.indexes.end())
            return skip_peer(self, id, index,
                             "answered a fork point we did not offer");
          pull->shared = shared;
          pull->anchor = shared == 0 ? std::string{genesis_previous_hash}
                                     : loc.hashes[at - loc.indexes.begin()];
        } else if (shared != pull->shared + pull->blocks.size()) {
          return skip_peer(self, id, index,
                           "did not continue after the block we named");
        }
        bool more = !got.empty();
        std::move(got.begin(), got.end(), std::back_inserter(pull->blocks));
        auto have = pull->shared + pull->blocks.size();
        if (more && have < pull->height) {
          // The next batch follows the last block received.
          auto doc = parse_json(pull->blocks.back());
          auto last = doc ? block_from_json(*doc)
                          : result<block>{failure{doc.error()}};
          if (!last)
            return skip_peer(self, id, index,
                             "block " + std::to_string(have) + ": "
                               + last.error());
          return pull_blocks(self, id, index, pull, {have}, {last->hash});
        }
        auto r = take_fetch(self, id, index);
        if (!r)
          return;
        verify(self, id, *r, index, std::move(pull->blocks),
               r->peers[index].text, pull->shared, pull->anchor);
      },
      [self, id, index](caf::error& err) {
        skip_peer(self, id, index, self->system().render(err));
      });
}

/// Consensus with a native peer: its height first; only if that can win,
/// the blocks after the last block both hold (found by our locator).
void pull_native(gossiper_ptr self, std::uint64_t id, std::uint64_t index,
                 peer_actor peer) {
  auto& r = self->state.rounds.at(id);
  self->request(peer, remaining(r), head_atom::value)
    .then(
      [self, id, index, peer](std::uint64_t height, std::string&) {
        auto it = self->state.rounds.find(id);
        if (it == self->state.rounds.end() || it->second.fetch_done[index])
          return;
        auto& r = it->second;
        if (height <= min_height(r))
          return skip_peer(self, id, index,
                           "chain of " + std::to_string(height)
                             + " blocks is not longer than "
                             + std::to_string(min_height(r)));
        auto pull = std::make_shared<native_pull>();
        pull->peer = peer;
        pull->height = height;
        pull_blocks(self, id, index, pull, r.locator.indexes, r.locator.hashes);
      },
      [self, id, index](caf::error& err) {
        skip_peer(self, id, index, self->system().render(err));
      });
}

native_link& link(gossiper_ptr self, const peer_address& addr);

void start_native_fetch(gossiper_ptr self, std::uint64_t id,
                        std::uint64_t index) {
  auto& r = self->state.rounds.at(id);
  if (r.handles[index])
    return pull_native(self, id, index, r.handles[index]);
  auto& l = link(self, r.peers[index]);
  if (l.handle)
    pull_native(self, id, index, l.handle);
  else
    l.waiting.emplace_back(id, index); // resumed when the link is up or fails
}

void start_round(gossiper_ptr self, std::optional<consensus_promise> promise,
                 std::vector<peer_address> peers, std::vector<peer_actor> handles,
                 block_locator locator, bool announced) {
  auto& st = self->state;
  auto id = st.next_round++;
  auto& r = st.rounds[id];
  r.promise = std::move(promise);
  r.peers = std::move(peers);
  r.handles = std::move(handles);
  r.handles.resize(r.peers.size());
  r.fetch_done.assign(r.peers.size(), false);
  r.fetches_open = r.peers.size();
  r.locator = std::move(locator);
  r.our_height = r.locator.indexes.empty() ? 0 : r.locator.indexes.front();
  r.deadline = clock::now() + st.peer_timeout;
  r.announced = announced;
  if (announced)
    ++st.announced_rounds_open;
  if (r.peers.empty()) {
    finish_round(self, id);
    return;
  }
  auto handle = caf::actor_cast<gossiper_actor>(self);
  for (std::uint64_t i = 0; i < r.peers.size(); ++i) {
    if (r.peers[i].native) {
      start_native_fetch(self, id, i);
      continue;
    }
    st.fetch(r.peers[i], st.peer_timeout, [handle, id, i](fetch_result res) {
      caf::anon_send(handle, fetched_atom::value, id, i, std::move(res));
    });
  }
  self->delayed_send(self, st.peer_timeout + deadline_grace,
                     round_end_atom::value, id);
}

/// A round over `peers` (all registered ones when not given).
void begin_round(gossiper_ptr self, std::optional<consensus_promise> promise,
                 std::optional<std::vector<peer_address>> peers = std::nullopt,
                 std::vector<peer_actor> handles = {}) {
  auto fail = [promise](caf::error& err) mutable {
    if (promise)
      promise->deliver(err);
    else
      log("gossiper", "sync failed: ", to_string(err));
  };
  auto with_peers = [self, promise, handles,
                     fail](std::vector<peer_address>& peers) mutable {
    bool announced = !handles.empty();
    self->request(self->state.chain, ask_timeout, locator_atom::value)
      .then(
        [self, promise, peers, handles, announced](block_locator& loc) mutable {
          start_round(self, std::move(promise), std::move(peers),
                      std::move(handles), std::move(loc), announced);
        },
        fail);
  };
  if (peers) {
    with_peers(*peers);
    return;
  }
  self->request(self->state.registry, ask_timeout, peers_atom::value)
    .then(with_peers, fail);
}

// -- native links ---------------------------------------------------------------

void announce_to(gossiper_ptr self, const peer_actor& peer) {
  auto& st = self->state;
  if (st.push && !st.last_tip_json.empty() && st.face)
    self->send(peer, announce_atom::value, st.last_tip_json,
               caf::actor_cast<caf::strong_actor_ptr>(st.face));
}

/// Announces our tip to every native peer: those we linked to and those
/// that linked to us, each node once.
void announce_to_all(gossiper_ptr self) {
  auto& st = self->state;
  std::vector<caf::node_id> told;
  auto tell = [&](const peer_actor& peer) {
    if (!peer || std::find(told.begin(), told.end(), peer.node()) != told.end())
      return;
    told.push_back(peer.node());
    announce_to(self, peer);
  };
  for (const auto& [text, l] : st.links)
    tell(l.handle);
  for (const auto& peer : st.inbound)
    tell(peer);
}

void link_finished(gossiper_ptr self, const std::string& text,
                   const std::string& failure) {
  auto& l = self->state.links.at(text);
  l.connecting = false;
  auto waiting = std::move(l.waiting);
  l.waiting.clear();
  for (auto [id, index] : waiting) {
    if (!self->state.rounds.count(id))
      continue;
    if (l.handle)
      pull_native(self, id, index, l.handle);
    else
      skip_peer(self, id, index, "cannot link: " + failure);
  }
  if (!l.handle) {
    self->delayed_send(self, l.backoff, relink_atom::value, text);
    l.backoff = std::min(l.backoff * 2, last_backoff);
  }
}

native_link& link(gossiper_ptr self, const peer_address& addr) {
  auto& l = self->state.links[addr.text];
  l.addr = addr;
  if (l.handle || l.connecting)
    return l;
  l.connecting = true;
  auto mm = self->system().middleman().actor_handle();
  auto text = addr.text;
  self->request(mm, link_timeout, caf::connect_atom::value, addr.host, addr.port)
    .then(
      [self, text](const caf::node_id&, caf::strong_actor_ptr& ptr,
                   const std::set<std::string>&) {
        auto& l = self->state.links.at(text);
        if (!ptr)
          return link_finished(self, text, "no actor published there");
        l.handle = caf::actor_cast<peer_actor>(ptr);
        l.backoff = first_backoff;
        self->monitor(l.handle);
        log("gossiper", "linked to ", text);
        if (self->state.face)
          self->send(l.handle, hello_atom::value,
                     caf::actor_cast<caf::strong_actor_ptr>(self->state.face));
        announce_to(self, l.handle);
        link_finished(self, text, {});
      },
      [self, text](caf::error& err) {
        link_finished(self, text, self->system().render(err));
      });
  return l;
}

void on_down(gossiper_ptr self, const caf::down_msg& down) {
  auto& in = self->state.inbound;
  in.erase(std::remove_if(in.begin(), in.end(),
                          [&](const peer_actor& p) {
                            return p.address() == down.source;
                          }),
           in.end());
  for (auto& [text, l] : self->state.links)
    if (l.handle && l.handle.address() == down.source) {
      log("gossiper", "lost ", text, "; linking again");
      l.handle = nullptr;
      self->delayed_send(self, l.backoff, relink_atom::value, text);
    }
}

/// A peer announced a block: append it if it extends our tip; if it is
/// further ahead, sync with the announcer alone.
void on_announced(gossiper_ptr self, const std::string& json,
                  caf::strong_actor_ptr origin) {
  auto doc = parse_json(json);
  auto b = doc ? block_from_json(*doc) : result<block>{failure{doc.error()}};
  if (!b) {
    log("gossiper", "ignored an announced block: ", b.error());
    return;
  }
  auto announced = std::make_shared<const block>(std::move(*b));
  self->request(self->state.chain, ask_timeout, extend_atom::value, announced)
    .then(
      [self, announced, origin](bool extended) {
        if (extended || !origin)
          return; // our chain changed: the watcher announces it onwards
        self->request(self->state.chain, ask_timeout, height_atom::value)
          .then(
            [self, announced, origin](std::uint64_t height) {
              if (announced->index <= height
                  || self->state.announced_rounds_open > 0)
                return; // not longer, or a sync is under way already
              peer_address from;
              from.native = true;
              from.text = "the announcer of block "
                          + std::to_string(announced->index);
              begin_round(self, std::nullopt, std::vector<peer_address>{from},
                          {caf::actor_cast<peer_actor>(origin)});
            },
            [](caf::error&) {});
      },
      [self](caf::error& err) {
        log("gossiper", "an announced block was not taken: ",
            self->system().render(err));
      });
}

gossiper_actor::behavior_type
gossiper_behavior(gossiper_ptr self, peer_registry_actor registry,
                  chain_actor chain, chain_fetcher fetch,
                  gossip_settings settings) {
  auto& st = self->state;
  st.registry = std::move(registry);
  st.chain = std::move(chain);
  st.requeue_orphans = settings.requeue_orphans;
  st.fetch = std::move(fetch);
  st.peer_timeout = settings.peer_timeout;
  st.push = settings.push;
  st.sync_interval = settings.sync_interval;
  st.native_batch = std::max<std::uint64_t>(1, settings.native_batch);
  self->set_down_handler([self](caf::down_msg& down) { on_down(self, down); });
  if (st.push)
    self->send(st.chain, subscribe_atom::value,
               caf::actor_cast<chain_watcher_actor>(self));
  if (st.sync_interval.count() > 0)
    self->delayed_send(self, st.sync_interval, sync_atom::value);
  return {
    [self](consensus_atom) {
      auto promise = self->make_response_promise<consensus_outcome>();
      begin_round(self, promise);
      return promise;
    },
    [self](fetched_atom, std::uint64_t id, std::uint64_t index,
           fetch_result& res) { on_fetched(self, id, index, res); },
    [self](round_end_atom, std::uint64_t id) {
      auto it = self->state.rounds.find(id);
      if (it == self->state.rounds.end())
        return;
      auto& r = it->second;
      r.deadline_passed = true;
      for (std::size_t i = 0; i < r.peers.size(); ++i)
        if (!r.fetch_done[i])
          log("gossiper", "skipped ", r.peers[i].text, ": no answer within ",
              self->state.peer_timeout.count(), " ms");
      maybe_finish(self, id);
    },
    [self](link_atom, const std::vector<peer_address>& peers) {
      for (const auto& p : peers)
        if (p.native)
          link(self, p);
    },
    [self](relink_atom, const std::string& text) {
      auto it = self->state.links.find(text);
      if (it != self->state.links.end())
        link(self, it->second.addr);
    },
    [self](sync_atom) {
      if (self->state.rounds.empty()) // one periodic round at a time
        begin_round(self, std::nullopt);
      self->delayed_send(self, self->state.sync_interval, sync_atom::value);
    },
    [self](announced_atom, const std::string& json,
           caf::strong_actor_ptr& origin) {
      on_announced(self, json, std::move(origin));
    },
    [self](chain_view& view) {
      auto& st = self->state;
      if (!st.push || view.tip_hash.empty() || view.tip_hash == st.last_tip_hash)
        return;
      st.last_tip_hash = view.tip_hash;
      st.last_tip_json = view.tip_json();
      announce_to_all(self);
    },
    [self](hello_atom, caf::strong_actor_ptr& ptr) {
      auto& st = self->state;
      auto peer = caf::actor_cast<peer_actor>(ptr);
      if (!peer)
        return;
      for (const auto& known : st.inbound)
        if (known.address() == peer.address())
          return;
      self->monitor(peer);
      st.inbound.push_back(peer);
      announce_to(self, peer);
    },
    [self](face_atom, peer_actor& face) { self->state.face = std::move(face); },
  };
}

} // namespace

gossiper_actor spawn_gossiper(caf::actor_system& sys,
                              peer_registry_actor registry, chain_actor chain,
                              chain_fetcher fetch, gossip_settings settings) {
  return sys.spawn(gossiper_behavior, std::move(registry), std::move(chain),
                   std::move(fetch), settings);
}

} // namespace dlt
