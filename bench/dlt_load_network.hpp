#pragma once
// dlt-load's view of the nodes while settling: one keep-alive connection
// per node, and what each node last said about itself (height, tip,
// pending transactions), asked by GET /status or, from nodes without it,
// read off GET /chain.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bench/dlt_load_net.hpp"

namespace dlt_load {

using clock_type = std::chrono::steady_clock;
using ms = std::chrono::milliseconds;

inline double seconds_since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

inline std::string short_hash(const std::string& h) {
  return h.size() > 16 ? h.substr(0, 16) + "..." : h;
}

/// Adds the time from its construction to its end to a counter.
struct timer {
  std::atomic<std::uint64_t>& total;
  clock_type::time_point start = clock_type::now();
  ~timer() {
    total += std::chrono::duration_cast<std::chrono::microseconds>(
               clock_type::now() - start)
               .count();
  }
};

/// The top-level "chain" list of a JSON object, found without parsing its
/// blocks: how many elements it has, and the text of the last one. Strings
/// are skipped with their escapes; nothing else needs understanding.
struct chain_scan {
  std::uint64_t count = 0;
  std::string_view last;
};
std::optional<chain_scan> scan_chain(std::string_view body);

/// What a node last said about itself.
struct node_view {
  bool reachable = false;
  std::string error; // why not
  std::uint64_t height = 0;
  std::string tip;           // the last block's hash
  std::int64_t pending = -1; // -1: unknown (no GET /status, or stale)
};

/// The answer of POST /mine.
struct mined {
  bool ok = false;
  bool block = false; // false: nothing was pending
  std::string hash;
  std::string previous_hash;
  std::size_t transactions = 0;
};

/// The nodes, one keep-alive connection each, and what each last said.
class network {
public:
  explicit network(const std::vector<std::string>& nodes);

  std::size_t size() const {
    return clients_.size();
  }

  const std::string& address(std::size_t i) const {
    return clients_[i]->address();
  }

  node_view probe(std::size_t i, ms timeout) {
    std::unique_lock<std::mutex> lock{locks_[i]};
    return probe_locked(i, timeout, lock, true);
  }

  /// A probe whose failure leaves the last view (a node slow to answer
  /// one poll is not reported unreachable for it).
  node_view poll(std::size_t i, ms timeout) {
    std::unique_lock<std::mutex> lock{locks_[i]};
    return probe_locked(i, timeout, lock, false);
  }

  /// A probe unless node i's connection is busy (the progress line must
  /// not wait for a consensus call); then its last view stays.
  void probe_if_idle(std::size_t i, ms timeout);

  /// POST /nodes/consensus; the view takes the chain it answers.
  void consensus(std::size_t i, ms timeout);

  /// POST /mine; the view takes the block mined.
  mined mine(std::size_t i, ms timeout);

  /// The hash of every block of node i's chain, in order; empty on failure.
  std::vector<std::string> block_hashes(std::size_t i, ms timeout);

  bool post_transaction(std::size_t i, const std::string& data, ms timeout);

  /// Whether every node answered GET /status so far (checking them all is
  /// cheap then).
  bool all_have_status() const;

  node_view view(std::size_t i) const {
    std::lock_guard<std::mutex> guard{views_mutex_};
    return views_[i];
  }

  std::vector<node_view> snapshot() const {
    std::lock_guard<std::mutex> guard{views_mutex_};
    return views_;
  }

  std::atomic<std::uint64_t> probes{0}, mines{0}, consensus_calls{0},
    transactions{0}, chains{0};
  /// Microseconds spent in mines and consensus calls (summed over threads).
  std::atomic<std::uint64_t> mine_us{0}, consensus_us{0};

private:
  /// `keep_failures`: a failed probe replaces the last view (a node that
  /// does not answer is reported so); else only answers do.
  node_view probe_locked(std::size_t i, ms timeout,
                         std::unique_lock<std::mutex>& lock,
                         bool keep_failures);

  void store(std::size_t i, node_view v) {
    std::lock_guard<std::mutex> guard{views_mutex_};
    views_[i] = std::move(v);
  }

  std::vector<std::unique_ptr<http_client>> clients_;
  mutable std::mutex views_mutex_;
  std::vector<node_view> views_;
  mutable std::vector<std::mutex> locks_; // one request at a time each
  std::unique_ptr<std::atomic<bool>[]> has_status_; // GET /status works
};

} // namespace dlt_load
