#pragma once
// dlt-load's verdict on a settled network, against the nodes' own chains.

#include <string>
#include <vector>

#include "model/chain.hpp"

namespace dlt_load {

struct verify_report {
  bool ok = false;
  std::string why;
  dlt::chain chain; // the one chain, when ok
  double seconds = 0;
};

/// Fetches every node's whole chain (at most `width` at once), checks that
/// one is valid (hashes re-derived as Python would) and that every node
/// holds exactly it: the same answer byte for byte, or else the same valid
/// chain.
verify_report verify_chains(const std::vector<std::string>& nodes,
                            std::size_t width);

} // namespace dlt_load
