#pragma once
// The HTTP edge actor: the REST API of API.md as actor calls.

#include <chrono>

#include <caf/fwd.hpp>

#include "actors/actors.hpp"

namespace dlt {

/// `consensus_timeout` bounds how long a consensus request may take in all
/// (the gossiper bounds each round by the peer deadline itself);
/// `hot_ask_timeout` is the deadline the sweep keeps for transactions.
edge_actor spawn_edge(caf::actor_system& sys, node_actors actors,
                      std::chrono::milliseconds consensus_timeout,
                      std::chrono::milliseconds hot_ask_timeout = ask_timeout);

} // namespace dlt
