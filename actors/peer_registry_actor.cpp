// The peer registry actor: sole owner of the set of registered peers.

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/spawn.hpp"

namespace dlt {
namespace {

struct registry_state {
  std::vector<peer_address> peers; // registration order, no duplicates
  std::size_t max_peers = 0;
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
                  std::size_t max_peers) {
  self->state.max_peers = max_peers;
  return {
    [self](register_atom, const std::vector<std::string>& inputs) {
      auto& st = self->state;
      register_outcome out;
      for (const auto& input : inputs) {
        auto addr = parse_peer_address(input);
        if (!addr) {
          out.invalid.push_back(input);
        } else if (!st.known(addr->text)) {
          if (st.peers.size() >= st.max_peers)
            out.invalid.push_back(input); // registry full
          else
            st.peers.push_back(std::move(*addr));
        }
      }
      for (const auto& p : st.peers)
        out.total.push_back(p.text);
      return out;
    },
    [self](peers_atom) { return self->state.peers; },
  };
}

} // namespace

peer_registry_actor spawn_peer_registry(caf::actor_system& sys,
                                        std::size_t max_peers) {
  return sys.spawn(registry_behavior, max_peers);
}

} // namespace dlt
