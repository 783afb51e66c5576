#pragma once
// Events as their subscribers outside the node read them: the SSE event
// name and one line of JSON (the contract of GET /events, see README).
// Rendered once per event by the hub and shared by every stream.

#include <string>

#include "actors/actors.hpp"

namespace dlt {

/// Block events carry the block's transactions only up to this many bytes
/// of them; a larger block's event lists the first ones that fit and says
/// "truncated" (GET /blocks has the whole block). Keeps every event small,
/// so the hub's replay buffer holds at least a thousand of them.
constexpr std::size_t max_event_transaction_bytes = 16 * 1024;

/// The SSE name of `e` ("block", "chain", ...); empty for events that are
/// not streamed (ledger_committed).
std::string event_name(const node_event& e);

/// The JSON data of `e`, one line; empty for events that are not streamed.
std::string event_data(const node_event& e);

/// The data of a snapshot record: the node's state now, with the last
/// `max_blocks` blocks.
std::string snapshot_data(const node_status& s, const std::string& version,
                          std::size_t max_blocks = 20);

/// JSON object of pairs, {"a": "b", ...}, in the given order.
std::string json_pairs(
  const std::vector<std::pair<std::string, std::string>>& pairs);

/// JSON list of strings.
std::string json_strings(const std::vector<std::string>& xs);

} // namespace dlt
