// dlt-load: load-tests a network of dlt-nodes, then checks the outcome.
//
//   dlt-load --spawn 3 --duration 20 --clients 32 --mix tx=90,mine=8,consensus=2
//   dlt-load --nodes http://127.0.0.1:8081,http://127.0.0.1:8082 --duration 10
//
// Phases:
//   1. start N nodes (--spawn, with --requeue-orphans, on free loopback ports)
//      or target running ones (--nodes); register every node with every
//      other, or, past --peers + 1 nodes, with about --peers others (a ring
//      plus random chords, dlt_load_topology.cpp);
//   2. drive the mix for --duration seconds from --clients keep-alive
//      connections spread over the nodes, with a progress line every second;
//   3. settle (dlt_load_settle.cpp): mine where transactions are pending, one
//      node after the other, and run consensus only where a node cannot
//      catch up otherwise, until every node holds the same tip and nothing
//      is pending, or --settle-timeout passes (exit 1, naming the nodes that
//      disagree);
//   4. verify: one chain on all nodes, valid (hashes re-derived as Python
//      would), every acknowledged transaction in it exactly once; report
//      throughput and latency per operation. Exits 1 when verification fails.
//
// Nodes that drop orphaned blocks' transactions (the reference's behaviour,
// dlt-node's default) lose acknowledged transactions whenever two nodes mine
// concurrently: start them with --requeue-orphans, as --spawn does.

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "bench/dlt_load_net.hpp"
#include "bench/dlt_load_nodes.hpp"
#include "bench/dlt_load_settle.hpp"
#include "bench/dlt_load_topology.hpp"
#include "bench/dlt_load_verify.hpp"
#include "model/chain.hpp"
#include "model/json_parse.hpp"

namespace {

using namespace dlt_load;
using clock_type = std::chrono::steady_clock;

// -- options ------------------------------------------------------------------------

struct options {
  std::vector<std::string> nodes; // host:port
  int spawn = 0;
  std::string node_binary;
  double duration = 10;
  int clients = 16;
  std::map<std::string, int> mix = {{"tx", 90}, {"mine", 8}, {"consensus", 2}};
  bool verify = true;
  bool ephemeral = false;
  bool native = false;
  int settle_timeout = 120;
  int peers = 8;
  bool verbose = false;
  std::string node_logs;
};

const char* usage =
  "usage: dlt-load [--spawn N [--node-binary PATH] | --nodes URL,URL,...]\n"
  "                [--duration SECONDS] [--clients N]\n"
  "                [--mix tx=90,mine=8,consensus=2] [--no-verify]\n"
  "                [--settle-timeout SECONDS] [--ephemeral] [--native]\n"
  "                [--peers K] [--node-logs DIR] [--verbose]\n"
  "  --spawn N        start N dlt-node processes (with --requeue-orphans),\n"
  "                   each storing its ledger in a temporary directory\n"
  "  --ephemeral      spawned nodes keep everything in memory instead\n"
  "  --native         spawned nodes link natively (caf://) instead of HTTP,\n"
  "                   with push gossip (--gossip push): mined blocks spread\n"
  "                   by themselves\n"
  "  --node-binary P  the dlt-node to start [next to dlt-load, or ../dlt-node]\n"
  "  --node-logs DIR  keep spawned nodes' logs (stderr) as DIR/node-I.log\n"
  "  --nodes LIST     target running nodes instead (http://host:port,...)\n"
  "  --duration S     seconds of load [10]\n"
  "  --clients N      keep-alive connections, spread over the nodes [16]\n"
  "  --mix SPEC       relative weights of tx, mine and consensus [90,8,2]\n"
  "  --peers K        each node registers about K others (a ring plus random\n"
  "                   chords, a few hops across); 0: every other node.\n"
  "                   Networks of up to K + 1 nodes are fully meshed [8]\n"
  "  --settle-timeout S  give up settling after S seconds, naming the nodes\n"
  "                   that disagree (exit 1) [120]\n"
  "  --verbose, -v    say what each settle round found and did\n"
  "  --no-verify      skip settling and verification\n";

[[noreturn]] void die(const std::string& why) {
  std::cerr << "dlt-load: " << why << "\n" << usage;
  std::exit(2);
}

/// A failure at run time (not the command line's): no usage text.
[[noreturn]] void fail(const std::string& why) {
  std::cout << std::flush;
  std::cerr << "dlt-load: " << why << "\n";
  std::exit(1);
}

std::string strip_scheme(std::string s) {
  if (s.rfind("http://", 0) == 0)
    s.erase(0, 7);
  while (!s.empty() && s.back() == '/')
    s.pop_back();
  return s;
}

options parse(int argc, char** argv) {
  options o;
  auto value = [&](int& i) -> std::string {
    std::string arg = argv[i];
    if (auto eq = arg.find('='); eq != std::string::npos)
      return arg.substr(eq + 1);
    if (i + 1 >= argc)
      die("option " + arg + " needs a value");
    return argv[++i];
  };
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string key = arg.substr(0, arg.find('='));
    try {
      if (key == "--help" || key == "-h") {
        std::cout << usage;
        std::exit(0);
      } else if (key == "--spawn") {
        o.spawn = std::stoi(value(i));
      } else if (key == "--node-binary") {
        o.node_binary = value(i);
      } else if (key == "--node-logs") {
        o.node_logs = value(i);
      } else if (key == "--nodes") {
        std::stringstream ss(value(i));
        for (std::string item; std::getline(ss, item, ',');)
          if (!item.empty())
            o.nodes.push_back(strip_scheme(item));
      } else if (key == "--duration") {
        o.duration = std::stod(value(i));
      } else if (key == "--clients") {
        o.clients = std::stoi(value(i));
      } else if (key == "--peers") {
        o.peers = std::stoi(value(i));
      } else if (key == "--settle-timeout") {
        o.settle_timeout = std::stoi(value(i));
      } else if (key == "--mix") {
        o.mix.clear();
        std::stringstream ss(value(i));
        for (std::string item; std::getline(ss, item, ',');) {
          auto eq = item.find('=');
          auto op = item.substr(0, eq);
          if (eq == std::string::npos
              || (op != "tx" && op != "mine" && op != "consensus"))
            die("bad --mix entry '" + item + "'");
          o.mix[op] = std::stoi(item.substr(eq + 1));
        }
      } else if (key == "--verbose" || key == "-v") {
        o.verbose = true;
      } else if (key == "--no-verify") {
        o.verify = false;
      } else if (key == "--ephemeral") {
        o.ephemeral = true;
      } else if (key == "--native") {
        o.native = true;
      } else {
        die("unknown option '" + arg + "'");
      }
    } catch (const std::logic_error&) { // invalid_argument, out_of_range
      die("option " + key + " expects a number");
    }
  }
  if (o.native && o.spawn <= 0)
    die("--native needs --spawn");
  if (!o.node_logs.empty() && o.spawn <= 0)
    die("--node-logs needs --spawn");
  if (o.spawn > 0 && !o.nodes.empty())
    die("--spawn and --nodes exclude each other");
  if (o.spawn <= 0 && o.nodes.empty())
    die("give --spawn N or --nodes");
  if (o.clients < 1 || o.duration <= 0 || o.settle_timeout < 1)
    die("--clients, --duration and --settle-timeout must be positive");
  if (o.peers < 0)
    die("--peers must be 0 or more");
  int total = 0;
  for (auto& [op, w] : o.mix)
    total += w;
  if (total <= 0)
    die("--mix needs a positive weight");
  return o;
}

// -- statistics ----------------------------------------------------------------------

const char* op_names[] = {"tx", "mine", "consensus"};

struct op_stats {
  std::atomic<std::uint64_t> ok{0};
  std::atomic<std::uint64_t> failed{0};
};

struct client_result {
  std::vector<std::vector<double>> latency_ms{3};
  std::vector<std::string> acked; // transaction data strings
};

double percentile(std::vector<double>& v, double p) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * v.size()))];
}

// -- setup ---------------------------------------------------------------------------

std::string find_node_binary(const char* argv0) {
  // Where this program really is (run from PATH, argv[0] has no directory).
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  std::string self = ec ? std::string{argv0} : exe.string();
  auto dir = self.substr(0, self.rfind('/') + 1);
  for (auto candidate : {dir + "dlt-node", dir + "../dlt-node"})
    if (access(candidate.c_str(), X_OK) == 0)
      return candidate;
  die("cannot find dlt-node next to dlt-load; give --node-binary");
}

/// Descriptors: ours (a connection per client and per node, pipes while
/// starting) and, for spawned nodes, theirs (each node links to every
/// other, and a consensus over HTTP opens a connection per peer). Children
/// inherit the limit, and each raises its soft limit to it as we do.
void check_descriptors(const options& opt, std::size_t nodes) {
  auto limit = raise_descriptor_limit();
  std::size_t ours = static_cast<std::size_t>(opt.clients) + 2 * nodes + 64;
  std::size_t per_node = opt.spawn > 0 ? 4 * nodes + 256 : 0;
  auto need = std::max(ours, per_node);
  if (limit < need)
    std::cerr << "dlt-load: warning: the descriptor limit is " << limit
              << ", and " << nodes << " nodes may need about " << need
              << " each; raise the hard limit (ulimit -Hn) if connections "
                 "fail\n";
}

/// Every node knows its neighbours in `adjacency` (by their caf:// address
/// with --native).
void register_peers(const options& opt,
                    const std::vector<spawned_node>& spawned,
                    const std::vector<std::vector<std::size_t>>& adjacency) {
  if (opt.nodes.size() < 2)
    return;
  std::vector<std::string> failures(opt.nodes.size());
  parallel_for(opt.nodes.size(), 8, [&](std::size_t i) {
    std::string peers = "{\"nodes\": [";
    bool first = true;
    for (auto j : adjacency[i]) {
      auto m = opt.native ? spawned[j].caf_address : opt.nodes[j];
      peers += (first ? "\"" : ", \"") + m + "\"";
      first = false;
    }
    peers += "]}";
    std::string answer;
    auto st = http_client{opt.nodes[i]}.request(verb::post, "/nodes/register",
                                                peers, &answer);
    if (st != 201)
      failures[i] = "cannot register peers with " + opt.nodes[i] + " (status "
                    + std::to_string(st) + "): " + answer.substr(0, 300);
  });
  for (const auto& f : failures)
    if (!f.empty())
      fail(f);
}

} // namespace

int main(int argc, char** argv) {
  auto opt = parse(argc, argv);
  stop_nodes_on_signal();
  signal(SIGPIPE, SIG_IGN);
  check_descriptors(opt, opt.spawn > 0 ? opt.spawn : opt.nodes.size());
  std::vector<spawned_node> spawned;
  if (opt.spawn > 0) {
    if (opt.node_binary.empty())
      opt.node_binary = find_node_binary(argv[0]);
    std::atexit(stop_nodes);
    spawn_options so;
    so.binary = opt.node_binary;
    so.count = opt.spawn;
    so.ephemeral = opt.ephemeral;
    so.native = opt.native;
    so.log_dir = opt.node_logs;
    std::string why;
    if (!start_nodes(so, spawned, why))
      fail(why);
    for (const auto& n : spawned)
      opt.nodes.push_back(n.address);
  }
  auto adjacency = make_topology(opt.nodes.size(), static_cast<std::size_t>(opt.peers));
  std::size_t links = 0;
  for (const auto& a : adjacency)
    links += a.size();
  std::cout << "dlt-load: " << opt.nodes.size() << " node(s)"
            << (opt.native ? " linked natively with push gossip" : "") << ", "
            << opt.clients << " clients, " << opt.duration << " s, mix tx="
            << opt.mix["tx"] << " mine=" << opt.mix["mine"] << " consensus="
            << opt.mix["consensus"] << "\n";
  if (opt.nodes.size() > 1)
    std::cout << "topology: "
              << (is_full_mesh(adjacency)
                    ? std::string{"every node registers every other"}
                    : "each node registers " + std::to_string(links / opt.nodes.size())
                        + " others on average (a ring plus random chords), at most "
                        + std::to_string(diameter(adjacency)) + " hops apart")
              << "\n";
  register_peers(opt, spawned, adjacency);

  // -- load --------------------------------------------------------------------------
  op_stats stats[3];
  std::vector<client_result> results(opt.clients);
  std::atomic<bool> stop{false};
  auto run_id = std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
  std::vector<int> weights = {opt.mix["tx"], opt.mix["mine"], opt.mix["consensus"]};
  auto started = clock_type::now();
  std::vector<std::thread> threads;
  for (int k = 0; k < opt.clients; ++k)
    threads.emplace_back([&, k] {
      http_client c{opt.nodes[k % opt.nodes.size()]};
      std::mt19937 rng(static_cast<unsigned>(k) * 7919u + 1);
      std::discrete_distribution<int> pick(weights.begin(), weights.end());
      auto& res = results[k];
      for (std::uint64_t seq = 0; !stop.load(std::memory_order_relaxed); ++seq) {
        int op = pick(rng);
        std::string data, target, body;
        if (op == 0) {
          data = "load-" + run_id + "-" + std::to_string(k) + "-" + std::to_string(seq);
          target = "/transactions/new";
          body = "{\"data\": \"" + data + "\"}";
        } else {
          target = op == 1 ? "/mine" : "/nodes/consensus";
          body = "{}";
        }
        auto t0 = clock_type::now();
        // No retry: a transaction sent twice would be held twice.
        unsigned status = c.request(verb::post, target, body);
        double ms = std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
        bool ok = op == 0 ? status == 201 : op == 1 ? status == 201 : status == 200;
        if (ok) {
          stats[op].ok.fetch_add(1, std::memory_order_relaxed);
          res.latency_ms[op].push_back(ms);
          if (op == 0)
            res.acked.push_back(std::move(data));
        } else {
          stats[op].failed.fetch_add(1, std::memory_order_relaxed);
        }
      }
    });

  bool tty = isatty(STDOUT_FILENO);
  std::uint64_t last[3] = {0, 0, 0};
  auto deadline = started + std::chrono::duration_cast<clock_type::duration>(
                              std::chrono::duration<double>(opt.duration));
  for (int second = 1; clock_type::now() < deadline; ++second) {
    std::this_thread::sleep_until(
      std::min(deadline, started + std::chrono::seconds(second)));
    std::ostringstream line;
    double t = std::chrono::duration<double>(clock_type::now() - started).count();
    line << "  t=" << static_cast<int>(t) << "s";
    std::uint64_t failed = 0;
    for (int op = 0; op < 3; ++op) {
      auto now = stats[op].ok.load();
      line << "  " << op_names[op] << " " << (now - last[op]) << "/s";
      last[op] = now;
      failed += stats[op].failed.load();
    }
    line << "  failed " << failed;
    std::cout << (tty ? "\r" : "") << line.str() << (tty ? "   " : "\n") << std::flush;
  }
  stop = true;
  for (auto& t : threads)
    t.join();
  double elapsed = std::chrono::duration<double>(clock_type::now() - started).count();
  if (tty)
    std::cout << "\n";

  // -- report -------------------------------------------------------------------------
  std::printf("\n%-10s %10s %10s %10s %9s %9s %9s %9s\n", "operation", "ok",
              "failed", "per s", "p50 ms", "p90 ms", "p99 ms", "max ms");
  std::vector<std::string> acked;
  for (int op = 0; op < 3; ++op) {
    std::vector<double> all;
    for (auto& r : results)
      all.insert(all.end(), r.latency_ms[op].begin(), r.latency_ms[op].end());
    double mx = all.empty() ? 0 : *std::max_element(all.begin(), all.end());
    std::printf("%-10s %10llu %10llu %10.0f %9.2f %9.2f %9.2f %9.2f\n",
                op_names[op], (unsigned long long) stats[op].ok.load(),
                (unsigned long long) stats[op].failed.load(),
                stats[op].ok.load() / elapsed, percentile(all, 0.5),
                percentile(all, 0.9), percentile(all, 0.99), mx);
  }
  for (auto& r : results)
    acked.insert(acked.end(), r.acked.begin(), r.acked.end());
  results.clear();

  if (!opt.verify)
    return 0;

  // -- settle and verify ---------------------------------------------------------------
  std::cout << "\nsettling: mining pending transactions node by node"
            << (opt.native ? ", blocks spread by gossip" : "")
            << ", consensus where a node is behind...\n"
            << std::flush;
  auto settle_started = clock_type::now();
  settle_options so;
  so.nodes = opt.nodes;
  so.gossip = opt.native;
  so.adjacency = adjacency;
  so.timeout = std::chrono::seconds(opt.settle_timeout);
  so.tty = tty;
  so.verbose = opt.verbose;
  auto settled = settle(so);
  if (!settled.ok) {
    std::cout << "FAILED: " << settled.verdict << "settling asked: "
              << settled.costs << "\n";
    return 1;
  }
  std::printf("settled in %.1f s, %d round(s); settling asked: %s\n",
              settled.seconds, settled.rounds, settled.costs.c_str());
  auto verified = verify_chains(opt.nodes, 4);
  if (!verified.ok) {
    std::cout << "FAILED: " << verified.why << "\n";
    return 1;
  }
  std::unordered_map<std::string, int> seen;
  for (const auto& b : verified.chain)
    for (const auto& tx : dlt::block_transactions(b)) {
      auto doc = dlt::parse_json(tx);
      if (doc && (*doc)["data"].is_string())
        ++seen[(*doc)["data"].get<std::string>()];
    }
  std::size_t lost = 0, duplicated = 0;
  for (const auto& data : acked) {
    auto it = seen.find(data);
    if (it == seen.end())
      ++lost;
    else if (it->second > 1)
      ++duplicated;
  }
  double total = std::chrono::duration<double>(clock_type::now() - settle_started).count();
  std::printf("\nverified: %zu nodes hold one valid chain of %zu blocks; %zu "
              "acknowledged transactions: %zu lost, %zu duplicated\n"
              "settle and verify took %.1f s (chains fetched and compared in "
              "%.1f s)\n",
              opt.nodes.size(), verified.chain.size(), acked.size(), lost,
              duplicated, total, verified.seconds);
  if (lost || duplicated) {
    std::cout << "FAILED: acknowledged transactions were "
              << (lost ? "lost" : "duplicated")
              << (opt.spawn ? "" : " (were the nodes started with --requeue-orphans?)")
              << "\n";
    return 1;
  }
  std::cout << "OK\n";
  return 0;
}
