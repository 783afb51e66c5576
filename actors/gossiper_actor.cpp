// The gossiper actor: pull consensus over every registered peer at once.
//
// A round asks the registry for the peers and the chain for our height, then
// starts every peer's fetch concurrently through the injected chain_fetcher.
// Each fetched body is handed to a fresh detached verifier (parsing and
// hashing a long chain is CPU work that must not starve the scheduler). The
// round ends when every fetch has finished or the peer deadline has passed,
// and every started verification has answered; the longest valid chain then
// goes to the chain actor, which adopts it only if it is still strictly
// longer than ours.

#include <malloc.h>

#include <map>

#include <caf/actor_system.hpp>
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

using consensus_promise = caf::typed_response_promise<consensus_outcome>;

struct round_state {
  consensus_promise promise;
  std::vector<peer_address> peers;
  std::vector<bool> fetch_done;
  std::size_t fetches_open = 0;
  std::size_t verifications_open = 0;
  std::uint64_t our_height = 0;
  bool deadline_passed = false;
  chain_ptr best;
  std::string best_peer;
};

struct gossiper_state {
  peer_registry_actor registry;
  chain_actor chain;
  bool requeue_orphans = false;
  chain_fetcher fetch;
  std::chrono::milliseconds peer_timeout{0};
  std::map<std::uint64_t, round_state> rounds;
  std::uint64_t next_round = 1;
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

verifier_actor::behavior_type verifier_behavior(verifier_actor::pointer self) {
  return {
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
  auto promise = round.promise;
  auto deliver_or_fail = [promise](consensus_outcome out) mutable {
    promise.deliver(std::move(out));
  };
  auto on_error = [promise](caf::error& err) mutable { promise.deliver(err); };
  if (round.best) {
    log("gossiper", "longest valid chain: ", round.best->size(),
        " blocks from ", round.best_peer);
    self->request(self->state.chain, ask_timeout, replace_atom::value,
                  round.best, self->state.requeue_orphans)
      .then(deliver_or_fail, on_error);
  } else {
    self->request(self->state.chain, ask_timeout, snapshot_atom::value)
      .then(
        [deliver_or_fail](chain_view& view) mutable {
          deliver_or_fail(consensus_outcome{false, std::move(view)});
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
  else if (!r.best || v.blocks->size() > r.best->size()) {
    r.best = std::move(v.blocks);
    r.best_peer = v.peer;
  }
  maybe_finish(self, id);
}

void on_fetched(gossiper_ptr self, std::uint64_t id, std::uint64_t index,
                fetch_result& res) {
  auto it = self->state.rounds.find(id);
  if (it == self->state.rounds.end())
    return; // a late answer from a round that has ended
  auto& r = it->second;
  if (index >= r.fetch_done.size() || r.fetch_done[index] || r.deadline_passed)
    return;
  r.fetch_done[index] = true;
  --r.fetches_open;
  const auto& peer = r.peers[index].text;
  if (!res.ok) {
    log("gossiper", "skipped ", peer, ": ", res.body_or_error);
    maybe_finish(self, id);
    return;
  }
  // Only a chain longer than ours and than the best so far can win: the
  // verifier skips shorter ones before hashing anything.
  std::uint64_t min_height = r.our_height;
  if (r.best && r.best->size() > min_height)
    min_height = r.best->size();
  ++r.verifications_open;
  auto verifier = self->spawn<caf::detached>(verifier_behavior);
  self->request(verifier, verify_timeout, verify_atom::value,
                std::move(res.body_or_error), peer, min_height)
    .then([self, id](verified_chain& v) { on_verified(self, id, std::move(v)); },
          [self, id, peer](caf::error& err) {
            on_verified(self, id,
                        verified_chain{nullptr, peer,
                                       "verification failed: "
                                         + self->system().render(err)});
          });
}

void start_round(gossiper_ptr self, consensus_promise promise,
                 std::vector<peer_address> peers, std::uint64_t our_height) {
  auto& st = self->state;
  auto id = st.next_round++;
  auto& r = st.rounds[id];
  r.promise = std::move(promise);
  r.peers = std::move(peers);
  r.fetch_done.assign(r.peers.size(), false);
  r.fetches_open = r.peers.size();
  r.our_height = our_height;
  if (r.peers.empty()) {
    finish_round(self, id);
    return;
  }
  auto handle = caf::actor_cast<gossiper_actor>(self);
  for (std::uint64_t i = 0; i < r.peers.size(); ++i)
    st.fetch(r.peers[i], st.peer_timeout, [handle, id, i](fetch_result res) {
      caf::anon_send(handle, fetched_atom::value, id, i, std::move(res));
    });
  self->delayed_send(self, st.peer_timeout + deadline_grace,
                     round_end_atom::value, id);
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
  return {
    [self](consensus_atom) {
      auto promise = self->make_response_promise<consensus_outcome>();
      self->request(self->state.registry, ask_timeout, peers_atom::value)
        .then(
          [self, promise](std::vector<peer_address>& peers) mutable {
            self->request(self->state.chain, ask_timeout, height_atom::value)
              .then(
                [self, promise, peers](std::uint64_t height) mutable {
                  start_round(self, std::move(promise), std::move(peers),
                              height);
                },
                [promise](caf::error& err) mutable { promise.deliver(err); });
          },
          [promise](caf::error& err) mutable { promise.deliver(err); });
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
