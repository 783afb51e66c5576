#pragma once
// The verifier: parses and validates one peer's chain on a detached thread
// of its own (a long chain is CPU work that must not starve the scheduler).
// Used by the consensus actor, one verifier per answer.

#include <caf/fwd.hpp>

#include "actors/actors.hpp"

namespace dlt {

/// A detached verifier; it answers one verify request and quits.
verifier_actor spawn_verifier(caf::actor_system& sys);

} // namespace dlt
