// dlt-load's topology (bench/dlt_load_topology.cpp): who registers whom in a
// spawned network. Settling and HTTP consensus rely on it being symmetric
// and connected, and on paths being real paths.

#include <catch2/catch.hpp>

#include <algorithm>
#include <deque>

#include "bench/dlt_load_topology.hpp"

using dlt_load::diameter;
using dlt_load::is_full_mesh;
using dlt_load::make_topology;
using dlt_load::path_between;

namespace {

bool linked(const std::vector<std::vector<std::size_t>>& adj, std::size_t a,
            std::size_t b) {
  return std::binary_search(adj[a].begin(), adj[a].end(), b);
}

std::size_t reachable_from_first(const std::vector<std::vector<std::size_t>>& adj) {
  std::vector<char> seen(adj.size(), 0);
  std::deque<std::size_t> todo{0};
  seen[0] = 1;
  std::size_t count = 1;
  while (!todo.empty()) {
    auto a = todo.front();
    todo.pop_front();
    for (auto b : adj[a])
      if (!seen[b]) {
        seen[b] = 1;
        ++count;
        todo.push_back(b);
      }
  }
  return count;
}

} // namespace

TEST_CASE("small networks, and --peers 0, are fully meshed") {
  for (std::size_t n : {2, 3, 9}) {
    auto adj = make_topology(n, 8);
    CHECK(is_full_mesh(adj));
    for (std::size_t a = 0; a < n; ++a)
      CHECK(adj[a].size() == n - 1);
  }
  CHECK(is_full_mesh(make_topology(50, 0)));
  CHECK_FALSE(is_full_mesh(make_topology(10, 8)));
}

TEST_CASE("a sparse topology is symmetric, connected, bounded and stable") {
  for (std::size_t n : {10, 100, 200}) {
    auto adj = make_topology(n, 8);
    REQUIRE(adj.size() == n);
    CHECK(reachable_from_first(adj) == n);
    for (std::size_t a = 0; a < n; ++a) {
      CHECK(adj[a].size() >= 2);
      CHECK(adj[a].size() <= 8);
      CHECK_FALSE(linked(adj, a, a));
      for (auto b : adj[a])
        CHECK(linked(adj, b, a));
    }
    CHECK(diameter(adj) <= 6);
    CHECK(make_topology(n, 8) == adj); // the same network every run
  }
}

TEST_CASE("path_between gives the nodes between two, hop by hop") {
  auto adj = make_topology(100, 4);
  for (std::size_t to : {1, 37, 50, 99}) {
    auto path = path_between(adj, 0, to);
    std::vector<std::size_t> walk{0};
    walk.insert(walk.end(), path.begin(), path.end());
    walk.push_back(to);
    for (std::size_t k = 0; k + 1 < walk.size(); ++k)
      CHECK(linked(adj, walk[k], walk[k + 1]));
    CHECK(path.size() + 1 <= diameter(adj));
  }
  CHECK(path_between(adj, 0, adj[0].front()).empty()); // neighbours
  CHECK(path_between(adj, 5, 5).empty());
}
