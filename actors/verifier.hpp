#pragma once
// The verifier: parses and validates one native peer's blocks on a detached
// thread of its own (a long chain is CPU work that must not starve the
// scheduler). The consensus actor spawns one per pull and hands it each
// answer as it arrives, so parsing overlaps the transfer of the next.

#include <caf/fwd.hpp>

#include "actors/actors.hpp"

namespace dlt {

/// A detached verifier of the blocks `peer` sends after our block `shared`
/// (whose hash is `anchor`). Its verdict holds them in segments of the
/// chain store's shape (see segment_tail), so adopting them copies none.
verifier_actor spawn_verifier(caf::actor_system& sys, std::string peer,
                              std::uint64_t shared, std::string anchor);

} // namespace dlt
