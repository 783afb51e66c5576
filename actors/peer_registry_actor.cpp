// The peer registry actor: sole owner of the set of registered peers and of
// what is known of their health.
//
// The registry is bounded (ledger_limits::max_peers). A peer that fails
// consensus round after round -- `peer_max_failures` in a row and for at
// least `peer_failing_for` -- is evicted, so addresses that never answer
// (typos, nodes gone for good, a flood of junk registrations) cannot keep
// real peers out. When the registry is full, the peer failing longest makes
// room for a new registration; a peer that answers is never evicted.

#include <algorithm>

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/log.hpp"
#include "actors/spawn.hpp"

namespace dlt {
namespace {

using clock = std::chrono::steady_clock;

struct peer_entry {
  explicit peer_entry(peer_address a) : addr(std::move(a)) {}

  peer_address addr;
  std::uint32_t failures = 0;       // consecutive failed rounds
  clock::time_point failing_since{}; // start of the current failing streak
  bool linked = false;               // native peers: link up
  std::string http;                  // native peers: their HTTP address
};

struct registry_state {
  std::vector<peer_entry> peers; // registration order, no duplicates
  ledger_limits limits;
  storage_actor storage; // null when ephemeral
  event_hub_actor hub;
  static inline const char* name = "peer_registry";

  peer_entry* find(const std::string& text) {
    for (auto& p : peers)
      if (p.addr.text == text)
        return &p;
    return nullptr;
  }

  std::vector<std::string> texts() const {
    std::vector<std::string> out;
    for (const auto& p : peers)
      out.push_back(p.addr.text);
    return out;
  }
};

using registry_ptr = peer_registry_actor::stateful_pointer<registry_state>;

void report(registry_ptr self) {
  auto& st = self->state;
  if (!st.hub)
    return;
  peers_changed e;
  for (const auto& p : st.peers) {
    e.total_nodes.push_back(p.addr.text);
    if (p.addr.native) {
      e.links.emplace_back(p.addr.text, p.linked ? "up" : "down");
      if (!p.http.empty())
        e.http.emplace_back(p.addr.text, p.http);
    }
  }
  self->send(st.hub, node_event{std::move(e)});
}

/// Stores `change`, then reports the new state and answers `rp` with
/// `answer`. Without storage (or nothing to store) at once.
template <class T>
caf::result<T> store_and_answer(registry_ptr self, ledger_change change,
                                T answer) {
  auto& st = self->state;
  if (change.empty()) {
    return answer;
  }
  if (!st.storage) {
    report(self);
    return answer;
  }
  auto rp = self->make_response_promise<T>();
  self->request(st.storage, ask_timeout, commit_atom::value, std::move(change))
    .then(
      [self, rp, answer](std::uint64_t) mutable {
        report(self);
        rp.deliver(std::move(answer));
      },
      [rp](caf::error& err) mutable {
        rp.deliver(make_node_error(node_error::outcome_unknown,
                                   "storing the peers failed ("
                                     + error_text(err)
                                     + "); the change may or may not be kept"));
      });
  return rp;
}

bool evictable(const registry_state& st, const peer_entry& p,
               clock::time_point now) {
  return p.failures >= st.limits.peer_max_failures
         && now - p.failing_since >= st.limits.peer_failing_for;
}

/// Removes the peer failing longest (at least one failure) to make room;
/// false when every peer answers.
bool make_room(registry_state& st, ledger_change& change) {
  auto worst = st.peers.end();
  for (auto it = st.peers.begin(); it != st.peers.end(); ++it)
    if (it->failures > 0
        && (worst == st.peers.end() || it->failing_since < worst->failing_since))
      worst = it;
  if (worst == st.peers.end())
    return false;
  log("peers", "evicting ", worst->addr.text, " to make room (", worst->failures,
      " failed rounds in a row)");
  change.peers_removed.push_back(worst->addr.text);
  st.peers.erase(worst);
  return true;
}

caf::result<register_outcome> register_peers(registry_ptr self,
                                             const std::vector<std::string>& inputs) {
  auto& st = self->state;
  register_outcome out;
  ledger_change change;
  for (const auto& input : inputs) {
    auto addr = parse_peer_address(input);
    if (!addr) {
      out.invalid.push_back(input);
    } else if (!st.find(addr->text)) {
      if (st.peers.size() >= st.limits.max_peers && !make_room(st, change)) {
        out.invalid.push_back(input); // registry full of answering peers
      } else {
        change.peers_added.push_back(addr->text);
        st.peers.emplace_back(std::move(*addr));
      }
    }
  }
  out.total = st.texts();
  return store_and_answer(self, std::move(change), std::move(out));
}

caf::result<unregister_outcome>
unregister_peers(registry_ptr self, const std::vector<std::string>& inputs) {
  auto& st = self->state;
  unregister_outcome out;
  ledger_change change;
  for (const auto& input : inputs) {
    auto addr = parse_peer_address(input);
    auto text = addr ? addr->text : input;
    auto it = std::find_if(st.peers.begin(), st.peers.end(),
                           [&](const peer_entry& p) { return p.addr.text == text; });
    if (it == st.peers.end())
      continue;
    out.removed.push_back(text);
    change.peers_removed.push_back(text);
    st.peers.erase(it);
  }
  out.total = st.texts();
  return store_and_answer(self, std::move(change), std::move(out));
}

void record_results(registry_ptr self, const std::vector<peer_outcome>& results) {
  auto& st = self->state;
  auto now = clock::now();
  ledger_change change;
  for (const auto& r : results) {
    auto p = st.find(r.peer);
    if (!p)
      continue; // an announcer, or a peer removed meanwhile
    bool answered = r.result == "ok" || r.result == "not_longer";
    if (answered) {
      p->failures = 0;
      continue;
    }
    if (p->failures++ == 0)
      p->failing_since = now;
  }
  for (auto it = st.peers.begin(); it != st.peers.end();) {
    if (!evictable(st, *it, now)) {
      ++it;
      continue;
    }
    log("peers", "evicting ", it->addr.text, ": ", it->failures,
        " failed rounds in a row over ",
        std::chrono::duration_cast<std::chrono::seconds>(now - it->failing_since)
          .count(),
        " s");
    change.peers_removed.push_back(it->addr.text);
    it = st.peers.erase(it);
  }
  if (change.empty())
    return;
  if (!st.storage)
    return report(self);
  self->request(st.storage, ask_timeout, commit_atom::value, std::move(change))
    .then([self](std::uint64_t) { report(self); },
          [self](caf::error& err) {
            log("peers", "storing evictions failed: ", error_text(err));
          });
}

peer_registry_actor::behavior_type
registry_behavior(registry_ptr self, std::vector<std::string> stored,
                  storage_actor storage, event_hub_actor hub,
                  ledger_limits limits) {
  auto& st = self->state;
  st.limits = limits;
  st.storage = std::move(storage);
  st.hub = std::move(hub);
  for (const auto& text : stored)
    if (auto addr = parse_peer_address(text); addr && !st.find(addr->text))
      st.peers.emplace_back(std::move(*addr));
  report(self); // the state subscribers start from
  return {
    [self](register_atom, const std::vector<std::string>& inputs) {
      return register_peers(self, inputs);
    },
    [self](unregister_atom, const std::vector<std::string>& inputs) {
      return unregister_peers(self, inputs);
    },
    [self](peers_atom) {
      std::vector<peer_address> out;
      for (const auto& p : self->state.peers)
        out.push_back(p.addr);
      return out;
    },
    [self](results_atom, const std::vector<peer_outcome>& results) {
      record_results(self, results);
    },
    [self](linked_atom, const std::string& text, bool up,
           const std::string& http) {
      auto p = self->state.find(text);
      if (!p || (p->linked == up && (http.empty() || p->http == http)))
        return;
      p->linked = up;
      if (!http.empty())
        p->http = http;
      report(self);
    },
  };
}

} // namespace

peer_registry_actor spawn_peer_registry(caf::actor_system& sys,
                                        std::vector<std::string> peers,
                                        storage_actor storage,
                                        event_hub_actor hub,
                                        ledger_limits limits) {
  return sys.spawn(registry_behavior, std::move(peers), std::move(storage),
                   std::move(hub), limits);
}

} // namespace dlt
