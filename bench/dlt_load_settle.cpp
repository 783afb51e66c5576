// Settling a network after the load.
//
// A round asks every node for its height, tip and pending count (GET
// /status; nodes without it: GET /chain, scanned rather than parsed), in
// parallel over one keep-alive connection per node, then acts only where
// that is needed:
//   - nodes with transactions pending mine, one after the other, each on
//     top of the block mined before it: mining one at a time keeps the
//     network from forking into as many branches as nodes. The next to
//     mine is whichever of the next few such nodes (neighbours of the last
//     miner first, when not every node registers every other) the last
//     block reached first by push gossip; without gossip, or when it
//     reaches none of them within a grace period, the next one runs
//     consensus first. Nodes on another branch join the pass, last:
//     adopting the chain gives their own blocks' transactions back
//     (--requeue-orphans), which they then mine; those found on the tip
//     with nothing pending are done;
//   - equal-length forks at the top are broken once: the pass starts on
//     the tip most nodes hold, or one block on it is mined first;
//   - nodes still behind run consensus: over HTTP (nothing else brings
//     them the blocks) those next to a node on the tip, at once; with
//     gossip only those a block has not reached within the grace period.
// Settled: every node holds the same tip and has nothing pending.
//
// Requests per round, for N nodes of which Q have something to mine: N
// state requests (plus N a second for the progress line, with GET /status),
// Q mines and a few state requests per mine while the block spreads; with
// gossip, no consensus unless a block goes missing; over HTTP, Q - 1
// consensus calls in the pass (and a few for the nodes between two miners
// that are not neighbours) and N - 1 afterwards (each pulls every peer's
// chain: that part is the protocol's, O(peers) per call).

#include "bench/dlt_load_settle.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>

#include "bench/dlt_load_net.hpp"
#include "bench/dlt_load_network.hpp"
#include "bench/dlt_load_standing.hpp"
#include "bench/dlt_load_topology.hpp"

namespace dlt_load {

namespace {

/// Calls `tick` once a second (from its own thread) until stopped.
class every_second {
public:
  every_second(clock_type::time_point started, std::function<void(int)> tick)
    : thread_([this, started, tick = std::move(tick)] {
        std::unique_lock<std::mutex> lock{mutex_};
        for (int second = 1;; ++second) {
          if (cv_.wait_until(lock, started + std::chrono::seconds(second),
                             [this] { return done_; }))
            break;
          lock.unlock();
          tick(second);
          lock.lock();
          // A slow tick skips the seconds it took rather than catch up.
          second = std::max(second, static_cast<int>(seconds_since(started)));
        }
      }) {
  }

  void stop() {
    {
      std::lock_guard<std::mutex> guard{mutex_};
      done_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable())
      thread_.join();
  }

  ~every_second() {
    stop();
  }

private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

} // namespace

settle_report settle(const settle_options& opt) {
  network net(opt.nodes);
  const auto n = net.size();
  const auto started = clock_type::now();
  const auto deadline = started + opt.timeout;
  std::atomic<int> round{0};
  std::atomic<std::size_t> mined_in_pass{0}, pass_size{0};
  // With gossip, a block usually reaches a node within this; consensus
  // only after it (a consensus asks every peer).
  const auto gossip_wait = ms(1000);
  std::atomic<bool> printed{false};
  const bool full_mesh = opt.adjacency.empty() || is_full_mesh(opt.adjacency);
  auto neighbours = [&](std::size_t a, std::size_t b) {
    if (full_mesh)
      return a != b;
    const auto& l = opt.adjacency[a];
    return std::binary_search(l.begin(), l.end(), b);
  };
  every_second ticker(started, [&](int second) {
    // Fresh views: every second when that is cheap (GET /status), else
    // (whole chains) every fifth second.
    // Within most of a second, so that lines keep coming while nodes are
    // slow to answer.
    auto until = clock_type::now() + ms(800);
    if (net.all_have_status() || second % 5 == 0)
      parallel_for(n, opt.width, [&](std::size_t i) {
        if (clock_type::now() < until)
          net.probe_if_idle(i, ms(500));
      });
    auto line = progress_line(static_cast<int>(seconds_since(started)),
                              round.load(), net.snapshot(),
                              mined_in_pass.load(), pass_size.load());
    std::cout << (opt.tty ? "\r" : "") << line << (opt.tty ? "   " : "\n")
              << std::flush;
    printed = true;
  });

  // Every request ends by the deadline (a moment after, at worst).
  auto budget = [&](ms cap) {
    auto left = std::chrono::duration_cast<ms>(deadline - clock_type::now());
    return std::clamp(left, ms(100), cap);
  };
  std::atomic<std::uint64_t> waited_us{0}, probe_all_us{0};
  auto probe_all = [&](ms cap) {
    timer t{probe_all_us};
    parallel_for(n, opt.width, [&](std::size_t i) { net.probe(i, budget(cap)); });
  };
  auto consensus_on = [&](const std::vector<std::size_t>& which) {
    parallel_for(which.size(), opt.consensus_width, [&](std::size_t k) {
      if (clock_type::now() < deadline)
        net.consensus(which[k], budget(std::chrono::seconds(30)));
    });
  };
  std::size_t tie_breaks = 0;
  // One block on `holder` (a transaction of our own, so that there is
  // something to mine): its chain becomes the longest, and spreads.
  auto break_tie = [&](std::size_t holder) -> std::string {
    ++tie_breaks;
    net.post_transaction(holder,
                         "dlt-load settle " + std::to_string(round.load()) + "-"
                           + std::to_string(tie_breaks),
                         budget(std::chrono::seconds(10)));
    auto m = net.mine(holder, budget(std::chrono::seconds(30)));
    return m.block ? m.hash : std::string{};
  };
  // The next node to mine on tip t (mined by, or held by, node `from`),
  // taken out of `rest`, or none (then one node is left for the next
  // round). Neighbours of `from` come first: the block reaches them in one
  // hop, and their consensus pulls from `from`. When t is a block just
  // mined and gossip carries it, the first of the next few candidates it
  // has reached (it reaches them in no particular order); when it reaches
  // none of them in time, or else, the first candidate after consensus
  // (over HTTP, a candidate no neighbour of `from` first has the nodes
  // between them run consensus, in order). Candidates found on t with
  // nothing pending are done: forked nodes that adopted the chain without
  // getting transactions back.
  constexpr auto none = static_cast<std::size_t>(-1);
  auto next_miner = [&](std::vector<std::size_t>& rest, const std::string& t,
                        std::size_t from, bool spreading) -> std::size_t {
    timer w{waited_us};
    spreading = spreading && opt.gossip;
    auto until = std::min(deadline, clock_type::now() + gossip_wait);
    auto pause = ms(1); // doubling up to 16 ms: the nodes are busy enough
    std::vector<std::size_t> cand; // indexes into rest
    for (;;) {
      auto limit = std::min<std::size_t>(rest.size(), spreading ? 8 : 1);
      cand.clear();
      for (std::size_t j = 0; j < rest.size() && cand.size() < limit; ++j)
        if (rest[j] == from || neighbours(from, rest[j]))
          cand.push_back(j);
      for (std::size_t j = 0; j < rest.size() && cand.size() < limit; ++j)
        if (std::find(cand.begin(), cand.end(), j) == cand.end())
          cand.push_back(j);
      if (cand.empty())
        return none;
      auto m = cand.size();
      std::vector<node_view> seen(m);
      // A candidate slow to answer is passed over, not waited for.
      parallel_for(m, m, [&](std::size_t k) {
        seen[k] = net.poll(rest[cand[k]], budget(std::chrono::seconds(1)));
      });
      std::vector<char> drop(rest.size(), 0);
      auto chosen = none;
      bool done = false;
      for (std::size_t k = 0; k < m; ++k) {
        if (seen[k].tip != t)
          continue;
        if (seen[k].pending == 0) {
          drop[cand[k]] = done = true;
        } else if (chosen == none) {
          chosen = rest[cand[k]];
          drop[cand[k]] = 1;
        }
      }
      if (chosen != none || done) {
        std::vector<std::size_t> kept;
        for (std::size_t j = 0; j < rest.size(); ++j)
          if (!drop[j])
            kept.push_back(rest[j]);
        rest.swap(kept);
      }
      if (chosen != none)
        return chosen;
      if (done)
        continue; // the next candidates at once
      if (!spreading || clock_type::now() >= until)
        break;
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, ms(16));
    }
    auto q = rest[cand[0]];
    rest.erase(rest.begin() + static_cast<std::ptrdiff_t>(cand[0]));
    if (!net.view(q).reachable)
      return none;
    if (!opt.gossip)
      for (auto between : path_between(opt.adjacency, from, q))
        net.consensus(between, budget(std::chrono::seconds(30)));
    net.consensus(q, budget(std::chrono::seconds(30)));
    return net.view(q).tip == t ? q : none;
  };

  // Without GET /status: the tip at which a mine found nothing pending.
  std::vector<std::string> confirmed_at(n);
  // With gossip: since when, and behind which tip, a node is behind.
  std::vector<std::string> behind_of(n);
  std::vector<clock_type::time_point> behind_since(n);
  bool ok = false;

  auto note = [&](const std::string& what) {
    if (!opt.verbose)
      return;
    std::ostringstream line;
    line.setf(std::ios::fixed);
    line.precision(2);
    line << "  [" << seconds_since(started) << " s] round " << round.load()
         << ": " << what << "\n";
    std::cout << line.str() << std::flush;
  };

  while (clock_type::now() < deadline) {
    ++round;
    probe_all(std::chrono::seconds(10));
    auto views = net.snapshot();
    std::vector<char> queued(n, 0);
    std::vector<std::size_t> queue, behind;
    bool unreachable = false;
    for (std::size_t i = 0; i < n; ++i) {
      const auto& v = views[i];
      if (!v.reachable) {
        unreachable = true;
        continue;
      }
      if (v.pending > 0 || (v.pending < 0 && confirmed_at[i] != v.tip)) {
        queued[i] = 1;
        queue.push_back(i);
      }
    }
    auto s = stand(views, queued);
    for (std::size_t i = 0; i < n; ++i)
      if (views[i].reachable && views[i].tip != s.tip)
        behind.push_back(i);
    // Nodes on another branch give their own blocks' transactions back to
    // their mempool once they adopt the chosen chain (--requeue-orphans):
    // they join this pass (brought to the tip, then mine what came back)
    // rather than need a pass of their own after the next consensus.
    if (!behind.empty()) {
      auto hashes = net.block_hashes(s.holder, budget(std::chrono::seconds(30)));
      for (auto i : behind) {
        auto h = views[i].height;
        bool on_chain = h >= 1 && h <= hashes.size() && hashes[h - 1] == views[i].tip;
        if (!on_chain && !queued[i] && !hashes.empty()) {
          queued[i] = 1;
          queue.push_back(i);
        }
      }
    }
    note(std::to_string(s.distinct) + " tip(s), " + std::to_string(s.tips_at_top)
         + " at the top (height " + std::to_string(s.height) + "), "
         + std::to_string(behind.size()) + " behind, "
         + std::to_string(queue.size()) + " to mine"
         + (unreachable ? ", some unreachable" : ""));
    if (queue.empty() && behind.empty()) {
      if (!unreachable) {
        ok = true;
        break;
      }
      std::this_thread::sleep_for(ms(200)); // it may come back
      continue;
    }

    if (!queue.empty()) {
      // Mining, one node after the other, each on the block before. The
      // first block goes on the chosen tip: a queued node holding it mines
      // first; if none does and another tip is as long, one block on a
      // holder breaks the tie first.
      // Forked nodes with nothing pending last: gossip or the pass's
      // consensus brings them onto the chain meanwhile, and those that get
      // no transactions back are then done without a mine.
      std::stable_partition(queue.begin(), queue.end(), [&](std::size_t i) {
        return views[i].pending != 0;
      });
      std::stable_partition(queue.begin(), queue.end(), [&](std::size_t i) {
        return views[i].tip == s.tip;
      });
      std::string tip = s.tip;
      std::size_t from = s.holder; // holds tip
      bool spreading = false; // tip is a block we just mined
      if (views[queue.front()].tip != s.tip && s.tips_at_top > 1) {
        tip = break_tie(s.holder);
        if (tip.empty())
          continue;
        spreading = true;
      }
      mined_in_pass = 0;
      pass_size = queue.size();
      for (auto rest = queue; !rest.empty() && clock_type::now() < deadline;) {
        auto q = next_miner(rest, tip, from, spreading);
        mined_in_pass = queue.size() - rest.size();
        if (q == none)
          continue; // left for the next round
        auto pending = net.view(q).pending;
        for (int j = 0; j < 1000 && pending != 0; ++j) {
          auto m = net.mine(q, budget(std::chrono::seconds(30)));
          if (!m.ok)
            break;
          if (!m.block) {
            confirmed_at[q] = tip;
            break;
          }
          if (m.previous_hash != tip)
            break; // q left the tip meanwhile: a fork the next round sees
          tip = m.hash;
          from = q;
          spreading = true;
          if (pending >= 0
              && (pending -= static_cast<std::int64_t>(m.transactions)) <= 0)
            break;
        }
      }
      pass_size = 0;
      note("mined on " + std::to_string(mined_in_pass.load()) + " of "
           + std::to_string(queue.size()) + " nodes");
      continue;
    }

    if (s.tips_at_top > 1) {
      // Equal-length forks, nothing pending: one block on the chosen tip.
      auto tip = break_tie(s.holder);
      if (!opt.gossip && !tip.empty()) {
        std::vector<std::size_t> others;
        for (std::size_t i = 0; i < n; ++i)
          if (i != s.holder && views[i].reachable)
            others.push_back(i);
        consensus_on(others);
      }
      note("broke a tie with one block on " + net.address(s.holder));
      continue;
    }

    if (!opt.gossip) {
      // Nothing else brings them the blocks. A consensus pulls from the
      // node's neighbours only: those next to a node on the tip first (the
      // tip spreads a hop a round), all of them when none is.
      std::vector<std::size_t> next;
      for (auto i : behind)
        for (std::size_t j = 0; j < n; ++j)
          if (views[j].reachable && views[j].tip == s.tip && neighbours(i, j)) {
            next.push_back(i);
            break;
          }
      if (next.empty())
        next = behind;
      consensus_on(next);
      note("consensus on " + std::to_string(next.size()) + " of the "
           + std::to_string(behind.size()) + " nodes behind");
      continue;
    }
    // With gossip a block is usually on its way: consensus only on nodes
    // it has not reached within the grace period.
    std::vector<std::size_t> stale;
    auto now = clock_type::now();
    for (auto i : behind) {
      if (behind_of[i] != s.tip) {
        behind_of[i] = s.tip;
        behind_since[i] = now;
      } else if (now - behind_since[i] >= gossip_wait) {
        stale.push_back(i);
        behind_of[i].clear();
      }
    }
    if (!stale.empty()) {
      consensus_on(stale);
      note("consensus on " + std::to_string(stale.size())
           + " nodes the last block did not reach");
    } else
      std::this_thread::sleep_for(ms(20));
  }

  ticker.stop();
  if (opt.tty && printed)
    std::cout << "\n";
  settle_report out;
  out.ok = ok;
  out.rounds = round.load();
  out.seconds = seconds_since(started);
  std::ostringstream costs;
  costs << net.probes.load() << " state requests (GET /status or /chain), " << net.mines.load()
        << " mines, " << net.consensus_calls.load() << " consensus calls, "
        << tie_breaks << " tie-break block(s), " << net.chains.load()
        << " chains read to find forked nodes; "
        << "time in mines " << net.mine_us.load() / 1000 << " ms, bringing a "
        << "node to the tip before it mines " << waited_us.load() / 1000
        << " ms (consensus calls " << net.consensus_us.load() / 1000
        << " ms), checking every node " << probe_all_us.load() / 1000 << " ms";
  out.costs = costs.str();
  if (!ok) {
    // Fresh views for the verdict, even if the deadline has passed.
    parallel_for(n, opt.width, [&](std::size_t i) { net.probe(i, ms(5000)); });
    auto views = net.snapshot();
    std::vector<char> unconfirmed(n, 0);
    for (std::size_t i = 0; i < n; ++i)
      unconfirmed[i] = views[i].pending < 0 && confirmed_at[i] != views[i].tip;
    out.verdict = verdict(net, views, unconfirmed,
                          std::chrono::duration<double>(opt.timeout).count(),
                          out.rounds);
  }
  return out;
}

} // namespace dlt_load
