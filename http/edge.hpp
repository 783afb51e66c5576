#pragma once
// The HTTP edge actor: the REST API of API.md (and our extensions) as actor
// calls. The transport hands it every request; it never sees a socket.

#include <chrono>
#include <string>

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/actors.hpp"
#include "http/rest.hpp"

namespace dlt {

/// Turns REST requests into actor calls (routing lives here, not in the
/// transport, and ledger rules live in the model).
using edge_actor = caf::typed_actor<
  /// Serves one request; answers through the responder exactly once.
  caf::reacts_to<rest_request, responder_ptr>,
  /// Internal, once a second: answers 503 for hot-path asks (transactions)
  /// that outlived their deadline, and forgets peers' chains fetched for
  /// GET /nodes/peer-chain more than a second ago. One sweep instead of a
  /// CAF request timeout per request: CAF 0.17's clock wakes its thread for
  /// every one.
  caf::reacts_to<sweep_atom>,
  /// Internal: the chain of HTTP peer `address` was fetched.
  caf::reacts_to<fetched_atom, std::string, fetch_result>>;

struct edge_settings {
  /// How long a consensus request may take in all (a round is bounded by
  /// the peer deadline; adopting what it found takes the rest).
  std::chrono::milliseconds consensus_timeout{dlt::ask_timeout * 2};
  /// The deadline the sweep keeps for transactions.
  std::chrono::milliseconds hot_ask_timeout{dlt::ask_timeout};
  /// The deadline of every other request: longer than the actors' own
  /// asks (dlt::ask_timeout), so they answer first and say what happened.
  std::chrono::milliseconds ask_timeout{dlt::ask_timeout + std::chrono::seconds(5)};
  /// Reported by GET /status.
  std::string version = "dlt-node";
  std::string native_address; // "caf://host:port", empty when unpublished
  /// Fetches a registered HTTP peer's chain for GET /nodes/peer-chain
  /// (bounded like consensus fetches), within `peer_timeout`.
  chain_fetcher fetch;
  std::chrono::milliseconds peer_timeout{5000};
};

edge_actor spawn_edge(caf::actor_system& sys, node_actors actors,
                      edge_settings settings = {});

} // namespace dlt
