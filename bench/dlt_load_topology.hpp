#pragma once
// Who registers whom: dlt-load's topology of the network under test.
//
// Every node registering every other costs what grows with the square of
// the network on every node: N - 1 links kept alive by heartbeats, every new
// tip announced to N - 1 peers by each of N nodes (N^2 announcements per
// block), every consensus asking N - 1 peers. With more nodes than that
// budget, each node registers about `degree` others instead: a ring (so that
// every node is reachable) plus random chords (so that every node is a few
// hops from any other), symmetric (A registers B exactly when B registers
// A, so that HTTP consensus can pull both ways).

#include <cstddef>
#include <vector>

namespace dlt_load {

/// Neighbours of each node, sorted. `degree` 0, or at least n - 1: every
/// node has every other. Deterministic for given n and degree.
std::vector<std::vector<std::size_t>> make_topology(std::size_t n,
                                                    std::size_t degree);

/// Whether the topology is every node with every other.
bool is_full_mesh(const std::vector<std::vector<std::size_t>>& adjacency);

/// The nodes on a shortest path from `from` to `to`, both excluded; empty
/// when they are neighbours (or no path exists).
std::vector<std::size_t>
path_between(const std::vector<std::vector<std::size_t>>& adjacency,
             std::size_t from, std::size_t to);

/// The longest of the shortest paths (hops), for the header line.
std::size_t diameter(const std::vector<std::vector<std::size_t>>& adjacency);

} // namespace dlt_load
