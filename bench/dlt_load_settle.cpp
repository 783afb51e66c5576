// Settling a network after the load, and verifying it.
//
// A round asks every node for its height, tip and pending count (GET
// /status; nodes without it: GET /chain, scanned rather than parsed), in
// parallel over one keep-alive connection per node, then acts only where
// that is needed:
//   - nodes with transactions pending mine, one after the other, each on
//     top of the block mined before it (a node is brought to that tip
//     first: by push gossip, which carries a block to every native peer by
//     itself, or else by consensus on that node). Mining one at a time
//     keeps the network from forking into as many branches as nodes;
//   - equal-length forks at the top are broken once: one block on the tip
//     most nodes hold, which then spreads;
//   - nodes still behind run consensus: at once over HTTP (nothing else
//     brings them the blocks), or with gossip only when a block has not
//     reached them within a grace period.
// Settled: every node holds the same tip and has nothing pending.
//
// Cost of a round: N status requests, plus one mine (and one or two
// status requests) per node with transactions pending, plus consensus only
// on nodes that cannot catch up otherwise.

#include "bench/dlt_load_settle.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>

#include "bench/dlt_load_net.hpp"
#include "model/json_parse.hpp"

namespace dlt_load {

using clock_type = std::chrono::steady_clock;
using ms = std::chrono::milliseconds;

std::optional<chain_scan> scan_chain(std::string_view body) {
  constexpr auto none = std::string_view::npos;
  int depth = 0;
  bool in_string = false, escaped = false, in_chain = false, found = false;
  std::size_t string_start = 0, element_start = none;
  std::string_view last_key; // the last string read at depth 1
  chain_scan out;
  for (std::size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"') {
        in_string = false;
        if (depth == 1)
          last_key = body.substr(string_start, i - string_start);
      }
      continue;
    }
    switch (c) {
    case '"':
      in_string = true;
      string_start = i + 1;
      break;
    case '{':
    case '[':
      if (depth == 1 && c == '[' && last_key == "chain" && !found) {
        in_chain = found = true;
      } else if (in_chain && depth == 2) {
        element_start = i;
        ++out.count;
      }
      ++depth;
      break;
    case '}':
    case ']':
      if (--depth < 0)
        return std::nullopt;
      if (in_chain && depth == 2 && element_start != none)
        out.last = body.substr(element_start, i + 1 - element_start);
      if (in_chain && depth == 1)
        in_chain = false;
      break;
    default:
      break;
    }
  }
  if (!found || depth != 0 || in_string)
    return std::nullopt;
  return out;
}

namespace {

double seconds_since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

std::string short_hash(const std::string& h) {
  return h.size() > 16 ? h.substr(0, 16) + "..." : h;
}

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

bool tip_from_scan(const chain_scan& s, node_view& v) {
  auto doc = dlt::parse_json(s.last);
  auto b = doc ? dlt::block_from_json(*doc)
               : dlt::result<dlt::block>{dlt::failure{doc.error()}};
  if (!b) {
    v.error = "its last block is unreadable: " + b.error();
    return false;
  }
  v.height = s.count;
  v.tip = b->hash;
  return true;
}

/// {"height": H, "tip": "...", "pending": P, ...} (GET /status).
bool read_status(const std::string& body, node_view& v) {
  auto doc = dlt::parse_json(body);
  if (!doc || !doc->is_object())
    return false;
  auto h = doc->find("height");
  auto t = doc->find("tip");
  if (h == doc->end() || !h->is_number_unsigned() || t == doc->end()
      || !t->is_string())
    return false;
  v.height = h->get<std::uint64_t>();
  v.tip = t->get<std::string>();
  auto p = doc->find("pending");
  v.pending = p != doc->end() && p->is_number_integer() ? p->get<std::int64_t>()
                                                       : -1;
  return true;
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

/// The nodes, one keep-alive connection each, and what each last said.
class network {
public:
  explicit network(const std::vector<std::string>& nodes)
    : views_(nodes.size()), locks_(nodes.size()),
      has_status_(new std::atomic<bool>[nodes.size()]) {
    for (const auto& n : nodes) {
      has_status_[clients_.size()] = true;
      clients_.push_back(std::make_unique<http_client>(n));
    }
  }

  std::size_t size() const {
    return clients_.size();
  }

  const std::string& address(std::size_t i) const {
    return clients_[i]->address();
  }

  node_view probe(std::size_t i, ms timeout) {
    std::unique_lock<std::mutex> lock{locks_[i]};
    return probe_locked(i, timeout, lock);
  }

  /// A probe whose failure leaves the last view (a node slow to answer
  /// one poll is not reported unreachable for it).
  node_view poll(std::size_t i, ms timeout) {
    std::unique_lock<std::mutex> lock{locks_[i]};
    return probe_locked(i, timeout, lock, false);
  }

  /// A probe unless node i's connection is busy (the progress line must
  /// not wait for a consensus call); then its last view stays.
  void probe_if_idle(std::size_t i, ms timeout) {
    std::unique_lock<std::mutex> lock{locks_[i], std::try_to_lock};
    if (lock)
      probe_locked(i, timeout, lock, false);
  }

  /// `keep_failures`: a failed probe replaces the last view (a node that
  /// does not answer is reported so); else only answers do.
  node_view probe_locked(std::size_t i, ms timeout,
                         std::unique_lock<std::mutex>& lock,
                         bool keep_failures = true) {
    ++probes;
    node_view v;
    std::string body, error;
    {
      auto& c = *clients_[i];
      if (has_status_[i]) {
        auto st = c.request(verb::get, "/status", "", &body, timeout, true, &error);
        if (st == 200 && read_status(body, v))
          v.reachable = true;
        else if (st == 0)
          v.error = "unreachable: " + error;
        else
          has_status_[i] = false; // an older node, or another implementation
      }
      if (!v.reachable && v.error.empty()) {
        auto st = c.request(verb::get, "/chain", "", &body, timeout, true, &error);
        auto scan = st == 200 ? scan_chain(body) : std::nullopt;
        if (st == 0)
          v.error = "unreachable: " + error;
        else if (st != 200)
          v.error = "GET /chain answered " + std::to_string(st);
        else if (!scan || scan->count == 0)
          v.error = "GET /chain answered no readable chain";
        else
          v.reachable = tip_from_scan(*scan, v);
      }
    }
    lock.unlock();
    if (v.reachable || keep_failures)
      store(i, v);
    return v;
  }

  /// POST /nodes/consensus; the view takes the chain it answers.
  void consensus(std::size_t i, ms timeout) {
    ++consensus_calls;
    std::string body, error;
    unsigned st;
    timer t{consensus_us};
    {
      std::lock_guard<std::mutex> guard{locks_[i]};
      st = clients_[i]->request(verb::post, "/nodes/consensus", "{}", &body,
                                timeout, true, &error);
    }
    auto v = view(i);
    v.pending = -1; // an adopted chain gives orphaned transactions back
    auto scan = st == 200 ? scan_chain(body) : std::nullopt;
    if (scan && scan->count > 0 && tip_from_scan(*scan, v)) {
      v.reachable = true;
      v.error.clear();
    } else if (st == 0) {
      v.reachable = false;
      v.error = "unreachable: " + error;
    }
    store(i, v);
  }

  mined mine(std::size_t i, ms timeout) {
    ++mines;
    mined m;
    std::string body;
    unsigned st;
    timer t{mine_us};
    {
      std::lock_guard<std::mutex> guard{locks_[i]};
      st = clients_[i]->request(verb::post, "/mine", "{}", &body, timeout, true);
    }
    auto doc = st == 200 || st == 201 ? dlt::parse_json(body)
                                      : dlt::result<dlt::json>{dlt::failure{""}};
    if (!doc || !doc->is_object() || !doc->contains("new_block"))
      return m;
    auto& nb = (*doc)["new_block"];
    m.ok = true;
    auto v = view(i);
    if (nb.is_null()) {
      v.pending = 0;
      store(i, v);
      return m;
    }
    auto b = dlt::block_from_json(nb);
    if (!b) {
      m.ok = false;
      return m;
    }
    m.block = true;
    m.hash = b->hash;
    m.previous_hash = b->previous_hash;
    m.transactions = nb["transactions"].size();
    v.height = b->index;
    v.tip = b->hash;
    if (v.pending >= 0)
      v.pending = std::max<std::int64_t>(
        0, v.pending - static_cast<std::int64_t>(m.transactions));
    store(i, v);
    return m;
  }

  /// The hash of every block of node i's chain, in order; empty on failure.
  std::vector<std::string> block_hashes(std::size_t i, ms timeout) {
    ++chains;
    std::string body;
    unsigned st;
    {
      std::lock_guard<std::mutex> guard{locks_[i]};
      st = clients_[i]->request(verb::get, "/chain", "", &body, timeout, true);
    }
    std::vector<std::string> out;
    auto doc = st == 200 ? dlt::parse_json(body)
                         : dlt::result<dlt::json>{dlt::failure{""}};
    if (!doc || !doc->is_object() || !doc->contains("chain"))
      return out;
    auto c = dlt::chain_from_json((*doc)["chain"]);
    if (c)
      for (const auto& b : *c)
        out.push_back(b.hash);
    return out;
  }

  bool post_transaction(std::size_t i, const std::string& data, ms timeout) {
    ++transactions;
    std::lock_guard<std::mutex> guard{locks_[i]};
    return clients_[i]->request(verb::post, "/transactions/new",
                                "{\"data\": \"" + data + "\"}", nullptr,
                                timeout, true)
           == 201;
  }

  /// Whether every node answered GET /status so far (checking them all is
  /// cheap then).
  bool all_have_status() const {
    for (std::size_t i = 0; i < size(); ++i)
      if (!has_status_[i])
        return false;
    return true;
  }

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
               const std::vector<char>& preferred = {}) {
  standing s;
  struct tally {
    std::uint64_t height;
    std::size_t count = 0, first = 0;
    bool preferred = false;
  };
  std::map<std::string, tally> tips;
  bool any = false;
  for (std::size_t i = 0; i < views.size(); ++i) {
    const auto& v = views[i];
    if (!v.reachable)
      continue;
    ++s.reachable;
    s.height = any ? std::max(s.height, v.height) : v.height;
    s.lowest = any ? std::min(s.lowest, v.height) : v.height;
    any = true;
    auto [it, fresh] = tips.try_emplace(v.tip, tally{v.height});
    if (fresh)
      it->second.first = i;
    ++it->second.count;
    if (i < preferred.size() && preferred[i])
      it->second.preferred = true;
  }
  s.distinct = tips.size();
  const tally* best = nullptr;
  for (const auto& [tip, t] : tips) {
    if (t.height != s.height)
      continue;
    ++s.tips_at_top;
    auto key = [](const tally& x) {
      return std::make_tuple(x.preferred, x.count, -static_cast<long long>(x.first));
    };
    if (!best || key(t) > key(*best)) {
      best = &t;
      s.tip = tip;
    }
  }
  if (best) {
    s.holder = best->first;
    s.holders = best->count;
  }
  return s;
}

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

/// The progress line: how the nodes stand.
std::string progress_line(int second, int round,
                          const std::vector<node_view>& views,
                          std::size_t mined, std::size_t pass) {
  auto s = stand(views);
  std::size_t behind = 0, far = 0, pending_nodes = 0, unknown = 0;
  std::int64_t pending = 0;
  for (const auto& v : views) {
    if (!v.reachable)
      continue;
    behind += v.tip != s.tip;
    far += v.height + 1 < s.height;
    if (v.pending > 0) {
      ++pending_nodes;
      pending += v.pending;
    } else if (v.pending < 0) {
      ++unknown;
    }
  }
  std::ostringstream line;
  line << "  settling t=" << second << "s  round " << round << "  tips "
       << s.distinct << "  heights " << s.lowest << ".." << s.height
       << "  behind " << behind << " (" << far << " by more than a block)"
       << "  pending " << pending << " tx on "
       << pending_nodes << " node(s)";
  if (unknown)
    line << " (" << unknown << " unknown)";
  if (s.reachable < views.size())
    line << "  unreachable " << views.size() - s.reachable;
  if (pass)
    line << "  mining: " << mined << " of " << pass << " nodes";
  return line.str();
}

/// Which nodes keep the network from being settled, and how. `unconfirmed`:
/// nodes without GET /status that a mine has not yet found empty.
std::string verdict(const network& net, const std::vector<node_view>& views,
                    const std::vector<char>& unconfirmed, double timeout,
                    int rounds) {
  auto s = stand(views);
  std::ostringstream out;
  out << "the nodes did not settle within " << timeout << " s (" << rounds
      << " rounds). ";
  if (s.reachable == 0)
    out << "No node answered.\n";
  else
    out << "The longest chain, height " << s.height << ", tip "
        << short_hash(s.tip) << ", is held by " << s.holders << " of "
        << views.size() << " nodes. These disagree:\n";
  std::size_t listed = 0, more = 0;
  for (std::size_t i = 0; i < views.size(); ++i) {
    const auto& v = views[i];
    std::string why;
    if (!v.reachable)
      why = v.error;
    else if (v.height < s.height)
      why = "behind";
    else if (v.tip != s.tip)
      why = "another chain of the same length";
    else if (v.pending > 0)
      why = std::to_string(v.pending) + " transaction(s) pending";
    else if (v.pending < 0 && unconfirmed[i])
      why = "may have transactions pending: it has no GET /status, and no "
            "mine has found it empty yet";
    if (why.empty())
      continue;
    if (listed == 30) {
      ++more;
      continue;
    }
    ++listed;
    out << "  " << net.address(i);
    if (v.reachable)
      out << "  height " << v.height << "  tip " << short_hash(v.tip);
    out << "  (" << why << ")\n";
  }
  if (more)
    out << "  ... and " << more << " more\n";
  if (listed == 0 && s.reachable > 0)
    out << "  none any more: they agreed just after the deadline\n";
  return out.str();
}

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
  // The next node to mine on tip t, as an index into `rest`, or none. When
  // t is a block just mined and gossip carries it, the first of the next
  // few queued nodes it has reached (it reaches them in no particular
  // order); when it reaches none of them in time, or else, the first one
  // after consensus.
  constexpr auto none = static_cast<std::size_t>(-1);
  auto next_miner = [&](const std::vector<std::size_t>& rest,
                        const std::string& t, bool spreading) -> std::size_t {
    timer w{waited_us};
    spreading = spreading && opt.gossip;
    auto m = std::min<std::size_t>(rest.size(), spreading ? 8 : 1);
    std::vector<char> at(m, 0);
    auto until = std::min(deadline, clock_type::now() + gossip_wait);
    auto pause = ms(1); // doubling up to 16 ms: the nodes are busy enough
    for (;;) {
      // A candidate slow to answer is passed over, not waited for.
      parallel_for(m, m, [&](std::size_t j) {
        at[j] = net.poll(rest[j], budget(std::chrono::seconds(1))).tip == t;
      });
      for (std::size_t j = 0; j < m; ++j)
        if (at[j])
          return j;
      if (!spreading || clock_type::now() >= until)
        break;
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, ms(16));
    }
    if (!net.view(rest[0]).reachable)
      return none;
    net.consensus(rest[0], budget(std::chrono::seconds(30)));
    return net.view(rest[0]).tip == t ? 0 : none;
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
      std::stable_partition(queue.begin(), queue.end(), [&](std::size_t i) {
        return views[i].tip == s.tip;
      });
      std::string tip = s.tip;
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
        auto k = next_miner(rest, tip, spreading);
        if (k == none) { // left for the next round
          rest.erase(rest.begin());
          continue;
        }
        auto q = rest[k];
        rest.erase(rest.begin() + static_cast<std::ptrdiff_t>(k));
        ++mined_in_pass;
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
      consensus_on(behind); // nothing else brings them the blocks
      note("consensus on the " + std::to_string(behind.size()) + " nodes behind");
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

verify_report verify_chains(const std::vector<std::string>& nodes,
                            std::size_t width) {
  verify_report out;
  auto started = clock_type::now();
  std::string first;
  if (http_client{nodes[0]}.request(verb::get, "/chain", "", &first) != 200) {
    out.why = "GET /chain failed on " + nodes[0];
    return out;
  }
  auto doc = dlt::parse_json(first);
  if (!doc || !doc->is_object() || !doc->contains("chain")) {
    out.why = nodes[0] + " answered an unreadable chain";
    return out;
  }
  auto parsed = dlt::chain_from_json((*doc)["chain"]);
  if (!parsed) {
    out.why = nodes[0] + " holds an invalid chain: " + parsed.error();
    return out;
  }
  doc = dlt::json{}; // the parse tree is ten times the chain: drop it now
  const auto& blocks = *parsed;
  std::mutex mutex;
  std::vector<std::string> problems;
  parallel_for(nodes.size() - 1, width, [&](std::size_t k) {
    const auto& node = nodes[k + 1];
    std::string body;
    std::string problem;
    if (http_client{node}.request(verb::get, "/chain", "", &body) != 200) {
      problem = "GET /chain failed on " + node;
    } else if (body != first) {
      // Not byte for byte the same answer: compare the chains themselves.
      auto d = dlt::parse_json(body);
      auto c = d && d->is_object() && d->contains("chain")
                 ? dlt::chain_from_json((*d)["chain"])
                 : dlt::result<dlt::chain>{dlt::failure{"no readable chain"}};
      if (!c)
        problem = node + " holds an invalid chain: " + c.error();
      else if (c->size() != blocks.size()
               || c->back().hash != blocks.back().hash)
        problem = node + " holds another chain (height "
                  + std::to_string(c->size()) + ", tip "
                  + short_hash(c->back().hash) + ") than " + nodes[0]
                  + " (height " + std::to_string(blocks.size()) + ", tip "
                  + short_hash(blocks.back().hash) + ")";
    }
    if (!problem.empty()) {
      std::lock_guard<std::mutex> guard{mutex};
      problems.push_back(std::move(problem));
    }
  });
  out.seconds = seconds_since(started);
  if (!problems.empty()) {
    std::sort(problems.begin(), problems.end());
    out.why = problems.front();
    if (problems.size() > 1)
      out.why += " (and " + std::to_string(problems.size() - 1) + " more)";
    return out;
  }
  out.chain = std::move(*parsed);
  out.ok = true;
  return out;
}

} // namespace dlt_load
