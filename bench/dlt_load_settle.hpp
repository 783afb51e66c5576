#pragma once
// dlt-load's end game: settle the network (every pending transaction mined,
// every node on one chain).

#include <chrono>
#include <string>
#include <vector>

namespace dlt_load {

struct settle_options {
  std::vector<std::string> nodes; // host:port
  /// Blocks spread by themselves (push gossip between native peers): a
  /// node that is behind gets a moment to catch up before consensus is run
  /// on it. Without gossip, every node that is behind runs consensus.
  bool gossip = false;
  /// Who registered whom (dlt_load_topology.hpp); empty: every node every
  /// other. A block reaches a node's neighbours first, and a consensus
  /// pulls from neighbours only: the next to mine is a neighbour of the
  /// last miner when one is queued.
  std::vector<std::vector<std::size_t>> adjacency;
  std::chrono::seconds timeout{120};
  /// Requests in flight at once when every node is asked (probes), and
  /// consensus calls at once (each pulls from every peer).
  std::size_t width = 16;
  std::size_t consensus_width = 4;
  bool tty = false;
  /// One line per round: what the nodes said and what settling did.
  bool verbose = false;
};

struct settle_report {
  bool ok = false;
  int rounds = 0;
  double seconds = 0;
  std::string costs;   // what settling asked, by kind of request
  std::string verdict; // when not ok: the nodes that disagree, and how
};

/// Mines and runs consensus where needed until every node reports nothing
/// pending and the same tip, or the timeout passes. Prints a progress line
/// every second.
settle_report settle(const settle_options& opt);

} // namespace dlt_load
