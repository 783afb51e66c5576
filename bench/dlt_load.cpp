// dlt-load: load-tests a network of dlt-nodes, then checks the outcome.
//
//   dlt-load --spawn 3 --duration 20 --clients 32 --mix tx=90,mine=8,consensus=2
//   dlt-load --nodes http://127.0.0.1:8081,http://127.0.0.1:8082 --duration 10
//
// Phases:
//   1. start N nodes (--spawn, with --requeue-orphans, on free loopback ports)
//      or target running ones (--nodes); register every node with every other;
//   2. drive the mix for --duration seconds from --clients keep-alive
//      connections spread over the nodes, with a progress line every second;
//   3. settle: mine and run consensus on every node until nothing is pending
//      and every node holds the same chain (a tie between equal-length
//      forks is broken with one more block);
//   4. verify: one chain on all nodes, valid (hashes re-derived as Python
//      would), every acknowledged transaction in it exactly once; report
//      throughput and latency per operation. Exits 1 when verification fails.
//
// Nodes that drop orphaned blocks' transactions (the reference's behaviour,
// dlt-node's default) lose acknowledged transactions whenever two nodes mine
// concurrently: start them with --requeue-orphans, as --spawn does.

#include <signal.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "model/chain.hpp"
#include "model/json_parse.hpp"

extern char** environ;

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
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
  std::string label;
};

const char* usage =
  "usage: dlt-load [--spawn N [--node-binary PATH] | --nodes URL,URL,...]\n"
  "                [--duration SECONDS] [--clients N]\n"
  "                [--mix tx=90,mine=8,consensus=2] [--no-verify]\n"
  "                [--ephemeral] [--native]\n"
  "  --spawn N        start N dlt-node processes (with --requeue-orphans),\n"
  "                   each storing its ledger in a temporary directory\n"
  "  --ephemeral      spawned nodes keep everything in memory instead\n"
  "  --native         spawned nodes link natively (caf://) instead of HTTP\n"
  "  --node-binary P  the dlt-node to start [next to dlt-load, or ../dlt-node]\n"
  "  --nodes LIST     target running nodes instead (http://host:port,...)\n"
  "  --duration S     seconds of load [10]\n"
  "  --clients N      keep-alive connections, spread over the nodes [16]\n"
  "  --mix SPEC       relative weights of tx, mine and consensus [90,8,2]\n"
  "  --no-verify      skip settling and verification\n";

[[noreturn]] void die(const std::string& why) {
  std::cerr << "dlt-load: " << why << "\n" << usage;
  std::exit(2);
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
      } else if (key == "--nodes") {
        std::stringstream ss(value(i));
        for (std::string item; std::getline(ss, item, ',');)
          if (!item.empty())
            o.nodes.push_back(strip_scheme(item));
      } else if (key == "--duration") {
        o.duration = std::stod(value(i));
      } else if (key == "--clients") {
        o.clients = std::stoi(value(i));
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
      } else if (key == "--no-verify") {
        o.verify = false;
      } else if (key == "--ephemeral") {
        o.ephemeral = true;
      } else if (key == "--native") {
        o.native = true;
      } else {
        die("unknown option '" + arg + "'");
      }
    } catch (const std::invalid_argument&) {
      die("option " + key + " expects a number");
    }
  }
  if (o.native && o.spawn <= 0)
    die("--native needs --spawn");
  if (o.spawn > 0 && !o.nodes.empty())
    die("--spawn and --nodes exclude each other");
  if (o.spawn <= 0 && o.nodes.empty())
    die("give --spawn N or --nodes");
  if (o.clients < 1 || o.duration <= 0)
    die("--clients and --duration must be positive");
  int total = 0;
  for (auto& [op, w] : o.mix)
    total += w;
  if (total <= 0)
    die("--mix needs a positive weight");
  return o;
}

// -- spawned nodes ------------------------------------------------------------------

struct spawned_node {
  pid_t pid = -1;
  std::string address;
  std::string data_dir; // removed after the node stopped
  std::string caf_address; // "caf://host:port" with --native
};

std::vector<spawned_node> g_spawned;

void stop_spawned() {
  for (auto& n : g_spawned)
    if (n.pid > 0) {
      kill(n.pid, SIGTERM);
      int status = 0;
      waitpid(n.pid, &status, 0);
      n.pid = -1;
      if (!n.data_dir.empty()) {
        std::error_code ec;
        std::filesystem::remove_all(n.data_dir, ec);
      }
    }
}

spawned_node spawn_node(const std::string& binary, bool ephemeral,
                        bool native) {
  int out[2];
  if (pipe(out) != 0)
    die("pipe failed");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&fa, out[0]);
  posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  std::vector<std::string> args = {binary, "--port", "0", "--requeue-orphans",
                                   "--peer-timeout-ms", "3000"};
  spawned_node n;
  if (native) {
    args.push_back("--caf-port");
    args.push_back("0");
  }
  if (ephemeral) {
    args.push_back("--ephemeral");
  } else {
    char dir[] = "/tmp/dlt-load-XXXXXX";
    if (!mkdtemp(dir))
      die("cannot create a data directory in /tmp");
    n.data_dir = dir;
    args.push_back("--data-dir");
    args.push_back(n.data_dir);
  }
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  if (posix_spawn(&n.pid, binary.c_str(), &fa, nullptr, argv.data(), environ) != 0)
    die("cannot start " + binary);
  posix_spawn_file_actions_destroy(&fa);
  close(out[1]);
  // ["dlt-node linking natively on caf://HOST:PORT"]
  // "dlt-node listening on http://127.0.0.1:PORT"
  std::string line;
  for (;;) {
    line.clear();
    char c;
    while (read(out[0], &c, 1) == 1 && c != '\n')
      line += c;
    auto caf = line.find("caf://");
    if (caf == std::string::npos)
      break;
    n.caf_address = line.substr(caf);
  }
  close(out[0]);
  auto pos = line.find("http://");
  if (pos == std::string::npos) {
    kill(n.pid, SIGKILL);
    die("node did not start: '" + line + "'");
  }
  n.address = line.substr(pos + 7);
  return n;
}

// -- a keep-alive HTTP client ------------------------------------------------------

class client {
public:
  explicit client(std::string address) : address_(std::move(address)) {
  }

  /// Returns the status, or 0 on a transport error (the connection is reset).
  unsigned request(http::verb method, const std::string& target,
                   const std::string& body, std::string* answer = nullptr,
                   std::chrono::seconds timeout = std::chrono::seconds(60)) {
    try {
      if (!stream_)
        connect();
      http::request<http::string_body> req{method, target, 11};
      req.set(http::field::host, address_);
      req.set(http::field::content_type, "application/json");
      req.body() = body;
      req.prepare_payload();
      stream_->expires_after(timeout);
      http::write(*stream_, req);
      http::response_parser<http::string_body> parser;
      parser.body_limit(1ull << 32);
      http::read(*stream_, buffer_, parser);
      auto& res = parser.get();
      if (answer)
        *answer = std::move(res.body());
      if (!res.keep_alive())
        stream_.reset();
      return res.result_int();
    } catch (const std::exception&) {
      stream_.reset();
      buffer_.clear();
      return 0;
    }
  }

private:
  void connect() {
    auto colon = address_.rfind(':');
    tcp::resolver resolver{ioc_};
    auto results = resolver.resolve(address_.substr(0, colon),
                                    address_.substr(colon + 1));
    stream_ = std::make_unique<beast::tcp_stream>(ioc_);
    stream_->expires_after(std::chrono::seconds(10));
    stream_->connect(results);
    stream_->socket().set_option(tcp::no_delay(true));
  }

  std::string address_;
  net::io_context ioc_;
  std::unique_ptr<beast::tcp_stream> stream_;
  beast::flat_buffer buffer_;
};

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

// -- settle and verify ---------------------------------------------------------------

struct chain_answer {
  std::string blocks_json; // canonical list
  dlt::chain blocks;
  std::string error;
};

chain_answer fetch_chain(const std::string& address) {
  chain_answer out;
  client c{address};
  std::string body;
  if (c.request(http::verb::get, "/chain", "", &body) != 200) {
    out.error = "GET /chain failed on " + address;
    return out;
  }
  auto doc = dlt::parse_json(body);
  if (!doc || !doc->contains("chain")) {
    out.error = address + " answered an unreadable chain";
    return out;
  }
  auto parsed = dlt::chain_from_json((*doc)["chain"]);
  if (!parsed) {
    out.error = address + " holds an invalid chain: " + parsed.error();
    return out;
  }
  out.blocks = std::move(*parsed);
  out.blocks_json = dlt::chain_json_array(out.blocks);
  return out;
}

bool settle(const std::vector<std::string>& nodes, std::string& why) {
  std::vector<std::unique_ptr<client>> cs;
  for (auto& n : nodes)
    cs.push_back(std::make_unique<client>(n));
  for (int round = 1; round <= 200; ++round) {
    bool mined = false;
    for (auto& c : cs) {
      std::string body;
      if (c->request(http::verb::post, "/mine", "{}", &body) == 201
          && body.find("\"new_block\": null") == std::string::npos)
        mined = true;
      for (auto& d : cs)
        d->request(http::verb::post, "/nodes/consensus", "{}");
    }
    if (mined)
      continue;
    std::string first;
    bool same = true;
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      auto a = fetch_chain(nodes[i]);
      if (!a.error.empty()) {
        why = a.error;
        return false;
      }
      if (i == 0)
        first = a.blocks_json;
      else if (a.blocks_json != first)
        same = false;
    }
    if (same)
      return true;
    // Nothing left to mine, yet the chains differ: two nodes hold forks of
    // equal length, and consensus keeps each (only a strictly longer chain
    // wins). One more block on the first node breaks the tie.
    cs[0]->request(http::verb::post, "/transactions/new",
                   "{\"data\": \"dlt-load settle " + std::to_string(round)
                     + "\"}");
  }
  why = "the nodes did not converge within 200 settle rounds";
  return false;
}

} // namespace

int main(int argc, char** argv) {
  auto opt = parse(argc, argv);
  signal(SIGPIPE, SIG_IGN);
  if (opt.spawn > 0) {
    if (opt.node_binary.empty()) {
      std::string self = argv[0];
      auto dir = self.substr(0, self.rfind('/') + 1);
      for (auto candidate : {dir + "dlt-node", dir + "../dlt-node"})
        if (access(candidate.c_str(), X_OK) == 0) {
          opt.node_binary = candidate;
          break;
        }
      if (opt.node_binary.empty())
        die("cannot find dlt-node next to dlt-load; give --node-binary");
    }
    for (int i = 0; i < opt.spawn; ++i) {
      g_spawned.push_back(
        spawn_node(opt.node_binary, opt.ephemeral, opt.native));
      opt.nodes.push_back(g_spawned.back().address);
    }
    std::atexit(stop_spawned);
  }
  std::cout << "dlt-load: " << opt.nodes.size() << " node(s), " << opt.clients
            << " clients, " << opt.duration << " s, mix tx=" << opt.mix["tx"]
            << " mine=" << opt.mix["mine"] << " consensus="
            << opt.mix["consensus"] << "\n";

  // Every node knows every other (by its caf:// address with --native).
  for (std::size_t i = 0; i < opt.nodes.size(); ++i) {
    const auto& n = opt.nodes[i];
    std::string peers = "{\"nodes\": [";
    bool first = true;
    for (std::size_t j = 0; j < opt.nodes.size(); ++j)
      if (j != i) {
        auto m = opt.native ? g_spawned[j].caf_address : opt.nodes[j];
        peers += (first ? "\"" : ", \"") + m + "\"";
        first = false;
      }
    peers += "]}";
    if (opt.nodes.size() > 1
        && client{n}.request(http::verb::post, "/nodes/register", peers) != 201)
      die("cannot register peers with " + n);
  }

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
      client c{opt.nodes[k % opt.nodes.size()]};
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
        unsigned status = c.request(http::verb::post, target, body);
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

  if (!opt.verify)
    return 0;

  // -- settle and verify ---------------------------------------------------------------
  std::cout << "\nsettling: mining and running consensus until the nodes agree...\n";
  std::string why;
  if (!settle(opt.nodes, why)) {
    std::cout << "FAILED: " << why << "\n";
    return 1;
  }
  auto final_chain = fetch_chain(opt.nodes[0]);
  std::unordered_map<std::string, int> seen;
  for (const auto& b : final_chain.blocks)
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
  std::printf("\nverified: %zu nodes hold one valid chain of %zu blocks; %zu "
              "acknowledged transactions: %zu lost, %zu duplicated\n",
              opt.nodes.size(), final_chain.blocks.size(), acked.size(), lost,
              duplicated);
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
