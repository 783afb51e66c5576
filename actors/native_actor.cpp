// The native actor: the node's public face to natively linked nodes, and
// the only actor published with --caf-port. It holds no state: questions
// about the chain go to the chain actor (which answers the asker directly),
// announcements go to the gossiper.

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/spawn.hpp"

namespace dlt {
namespace {

peer_actor::behavior_type native_behavior(peer_actor::pointer self,
                                          chain_actor chain,
                                          gossiper_actor gossiper) {
  return {
    [self, chain](head_atom) {
      return self->delegate(chain, head_atom::value);
    },
    [self, chain](blocks_atom, std::vector<std::uint64_t>& indexes,
                  std::vector<std::string>& hashes, std::uint64_t max) {
      return self->delegate(chain, blocks_atom::value, std::move(indexes),
                            std::move(hashes), max);
    },
    [self, gossiper](announce_atom, std::string& block_json,
                     caf::strong_actor_ptr& origin) {
      self->send(gossiper, announced_atom::value, std::move(block_json),
                 std::move(origin));
    },
    [self, gossiper](hello_atom, caf::strong_actor_ptr& peer) {
      self->send(gossiper, hello_atom::value, std::move(peer));
    },
  };
}

} // namespace

peer_actor spawn_native(caf::actor_system& sys, chain_actor chain,
                        gossiper_actor gossiper) {
  return sys.spawn(native_behavior, std::move(chain), std::move(gossiper));
}

} // namespace dlt
