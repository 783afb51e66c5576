#pragma once
// dlt-load's end game: settle the network (every pending transaction mined,
// every node on one chain), then verify it against the nodes' own chains.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/chain.hpp"

namespace dlt_load {

struct settle_options {
  std::vector<std::string> nodes; // host:port
  /// Blocks spread by themselves (push gossip between native peers): a
  /// node that is behind gets a moment to catch up before consensus is run
  /// on it. Without gossip, every node that is behind runs consensus.
  bool gossip = false;
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

struct verify_report {
  bool ok = false;
  std::string why;
  dlt::chain chain; // the one chain, when ok
  double seconds = 0;
};

/// Fetches every node's whole chain (at most `width` at once), checks that
/// one is valid (hashes re-derived as Python would) and that every node
/// holds exactly it.
verify_report verify_chains(const std::vector<std::string>& nodes,
                            std::size_t width);

/// The top-level "chain" list of a JSON object, found without parsing its
/// blocks: how many elements it has, and the text of the last one. Strings
/// are skipped with their escapes; nothing else needs understanding.
struct chain_scan {
  std::uint64_t count = 0;
  std::string_view last;
};
std::optional<chain_scan> scan_chain(std::string_view body);

} // namespace dlt_load
