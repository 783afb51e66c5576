#include "bench/dlt_load_topology.hpp"

#include <algorithm>
#include <deque>
#include <random>
#include <set>

namespace dlt_load {

std::vector<std::vector<std::size_t>> make_topology(std::size_t n,
                                                    std::size_t degree) {
  std::vector<std::set<std::size_t>> adj(n);
  auto connect = [&](std::size_t a, std::size_t b) {
    adj[a].insert(b);
    adj[b].insert(a);
  };
  if (degree == 0 || degree + 1 >= n) {
    for (std::size_t a = 0; a < n; ++a)
      for (std::size_t b = a + 1; b < n; ++b)
        connect(a, b);
  } else {
    for (std::size_t a = 0; a < n; ++a)
      connect(a, (a + 1) % n);
    // Chords between nodes still short of the degree, chosen at random
    // (a fixed seed: the same network each run).
    std::mt19937 rng(20240611u);
    std::uniform_int_distribution<std::size_t> pick(0, n - 1);
    for (std::size_t a = 0; a < n; ++a)
      for (int attempt = 0; adj[a].size() < degree && attempt < 64; ++attempt) {
        auto b = pick(rng);
        if (b != a && adj[b].size() < degree && !adj[a].count(b))
          connect(a, b);
      }
  }
  std::vector<std::vector<std::size_t>> out(n);
  for (std::size_t a = 0; a < n; ++a)
    out[a].assign(adj[a].begin(), adj[a].end());
  return out;
}

bool is_full_mesh(const std::vector<std::vector<std::size_t>>& adjacency) {
  for (const auto& a : adjacency)
    if (a.size() + 1 < adjacency.size())
      return false;
  return true;
}

namespace {

/// Breadth-first from `from`: each node's predecessor (n: unreached).
std::vector<std::size_t>
predecessors(const std::vector<std::vector<std::size_t>>& adjacency,
             std::size_t from) {
  auto n = adjacency.size();
  std::vector<std::size_t> pred(n, n);
  std::deque<std::size_t> todo{from};
  pred[from] = from;
  while (!todo.empty()) {
    auto a = todo.front();
    todo.pop_front();
    for (auto b : adjacency[a])
      if (pred[b] == n) {
        pred[b] = a;
        todo.push_back(b);
      }
  }
  return pred;
}

} // namespace

std::vector<std::size_t>
path_between(const std::vector<std::vector<std::size_t>>& adjacency,
             std::size_t from, std::size_t to) {
  auto n = adjacency.size();
  std::vector<std::size_t> path;
  if (from >= n || to >= n || from == to)
    return path;
  auto pred = predecessors(adjacency, from);
  if (pred[to] == n)
    return path;
  for (auto at = pred[to]; at != from; at = pred[at])
    path.push_back(at);
  std::reverse(path.begin(), path.end());
  return path;
}

std::size_t diameter(const std::vector<std::vector<std::size_t>>& adjacency) {
  auto n = adjacency.size();
  std::size_t most = 0;
  for (std::size_t from = 0; from < n; ++from) {
    std::vector<std::size_t> hops(n, n);
    std::deque<std::size_t> todo{from};
    hops[from] = 0;
    while (!todo.empty()) {
      auto a = todo.front();
      todo.pop_front();
      most = std::max(most, hops[a]);
      for (auto b : adjacency[a])
        if (hops[b] == n) {
          hops[b] = hops[a] + 1;
          todo.push_back(b);
        }
    }
  }
  return most;
}

} // namespace dlt_load
