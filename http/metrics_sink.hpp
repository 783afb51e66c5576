#pragma once
// The node's metrics that events tell: a hub subscriber that counts blocks,
// transactions, reorgs, rounds, peer fetches and commits, and keeps the
// gauges (height, mempool, peers) equal to what the API reports. It runs on
// the hub's thread and only touches atomics, so it always keeps up.

#include "actors/actors.hpp"
#include "http/metrics.hpp"

namespace dlt {

/// A sink for the hub, updating `m`. Subscribe it before the ledger's
/// actors start, so it sees their first state.
event_sink_ptr make_metrics_sink(const metrics::node_metrics& m);

} // namespace dlt
