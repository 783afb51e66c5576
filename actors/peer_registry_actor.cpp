// The peer registry actor: sole owner of the set of registered peers.

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/spawn.hpp"

namespace dlt {
namespace {

struct registry_state {
  std::vector<peer_address> peers; // registration order, no duplicates
  std::size_t max_peers = 0;
  storage_actor storage; // null when ephemeral
  std::vector<peer_watcher_actor> watchers;
  static inline const char* name = "peer_registry";

  bool known(const std::string& text) const {
    for (const auto& p : peers)
      if (p.text == text)
        return true;
    return false;
  }
};

peer_registry_actor::behavior_type
registry_behavior(peer_registry_actor::stateful_pointer<registry_state> self,
                  std::vector<std::string> stored, storage_actor storage,
                  std::size_t max_peers) {
  auto& st = self->state;
  st.max_peers = max_peers;
  st.storage = std::move(storage);
  for (const auto& text : stored)
    if (auto addr = parse_peer_address(text); addr && !st.known(addr->text))
      st.peers.push_back(std::move(*addr));
  return {
    [self](register_atom, const std::vector<std::string>& inputs)
      -> caf::result<register_outcome> {
      auto& st = self->state;
      register_outcome out;
      ledger_change change;
      for (const auto& input : inputs) {
        auto addr = parse_peer_address(input);
        if (!addr) {
          out.invalid.push_back(input);
        } else if (!st.known(addr->text)) {
          if (st.peers.size() >= st.max_peers) {
            out.invalid.push_back(input); // registry full
          } else {
            change.peers_added.push_back(addr->text);
            st.peers.push_back(std::move(*addr));
          }
        }
      }
      for (const auto& p : st.peers)
        out.total.push_back(p.text);
      if (!change.empty())
        for (const auto& w : st.watchers)
          self->send(w, link_atom::value,
                     std::vector<peer_address>(
                       st.peers.end()
                         - static_cast<std::ptrdiff_t>(change.peers_added.size()),
                       st.peers.end()));
      if (!st.storage || change.empty())
        return out;
      auto rp = self->make_response_promise<register_outcome>();
      self
        ->request(st.storage, ask_timeout, commit_atom::value,
                  std::move(change))
        .then([rp, out](std::uint64_t) mutable { rp.deliver(std::move(out)); },
              [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
      return rp;
    },
    [self](peers_atom) { return self->state.peers; },
    [self](subscribe_atom, peer_watcher_actor& w) {
      self->send(w, link_atom::value, self->state.peers);
      self->state.watchers.push_back(std::move(w));
    },
  };
}

} // namespace

peer_registry_actor spawn_peer_registry(caf::actor_system& sys,
                                        std::vector<std::string> peers,
                                        storage_actor storage,
                                        std::size_t max_peers) {
  return sys.spawn(registry_behavior, std::move(peers), std::move(storage),
                   max_peers);
}

} // namespace dlt
