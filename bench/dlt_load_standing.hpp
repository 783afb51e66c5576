#pragma once
// How the nodes stand while settling: the tip they should end on, the
// progress line, and the verdict naming the nodes that disagree.

#include <cstdint>
#include <string>
#include <vector>

#include "bench/dlt_load_network.hpp"

namespace dlt_load {

/// The tip every node should end on, and how the nodes stand against it.
struct standing {
  std::string tip;
  std::uint64_t height = 0;    // the highest
  std::uint64_t lowest = 0;
  std::size_t holder = 0;      // a node holding tip
  std::size_t holders = 0;
  std::size_t tips_at_top = 0; // distinct tips of the highest height
  std::size_t distinct = 0;    // distinct tips over all nodes
  std::size_t reachable = 0;
};

/// The highest chain; among equal-height tips, the one a `preferred` node
/// holds, then the one most nodes hold, then the first node's.
standing stand(const std::vector<node_view>& views,
               const std::vector<char>& preferred = {});

/// The progress line: round, distinct tips, heights, nodes behind, pending
/// transactions, and how far a mining pass has come.
std::string progress_line(int second, int round,
                          const std::vector<node_view>& views,
                          std::size_t mined, std::size_t pass);

/// Which nodes keep the network from being settled, and how. `unconfirmed`:
/// nodes without GET /status that a mine has not yet found empty.
std::string verdict(const network& net, const std::vector<node_view>& views,
                    const std::vector<char>& unconfirmed, double timeout,
                    int rounds);

} // namespace dlt_load
