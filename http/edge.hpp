#pragma once
// The HTTP edge actor: the REST API of API.md as actor calls.

#include <chrono>

#include <caf/fwd.hpp>

#include "actors/actors.hpp"

namespace dlt {

/// `consensus_timeout` bounds how long a consensus request may take in all
/// (the gossiper bounds each round by the peer deadline itself).
edge_actor spawn_edge(caf::actor_system& sys, node_actors actors,
                      std::chrono::milliseconds consensus_timeout);

} // namespace dlt
