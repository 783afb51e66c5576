// The node's metric families (issue 13's table) and their exposition as
// Prometheus' own promtool sees it.

#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "http/metrics.hpp"

using namespace dlt::metrics;

namespace {

const std::vector<std::string> routes{"/chain", "/transactions/new", "/mine",
                                      "/metrics"};

/// family name -> type, from the `# TYPE` lines.
std::map<std::string, std::string> types_of(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.rfind("# TYPE ", 0) == 0) {
      auto rest = line.substr(7);
      auto sp = rest.find(' ');
      out[rest.substr(0, sp)] = rest.substr(sp + 1);
    }
  return out;
}

bool has_line(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

/// Some of everything: what a node that served, mined, synced and stored
/// would show.
void traffic(node_metrics& m) {
  m.chain_height.set(42);
  m.mempool_transactions.set(7);
  m.peers.labels({"http"}).set(2);
  m.peers.labels({"native"}).set(1);
  m.native_peers_linked.set(1);
  m.http_connections.inc(3);
  m.event_streams.inc();
  m.transactions_received.inc(1000);
  m.blocks_mined.inc();
  m.blocks_received.labels({"consensus"}).inc(5);
  m.blocks_received.labels({"gossip"}).inc(2);
  m.chain_reorgs.inc();
  m.chain_reorg_depth.observe(3);
  m.chain_pops.inc();
  m.consensus_rounds.labels({"replaced"}).inc();
  m.consensus_rounds.labels({"kept"}).inc(4);
  m.consensus_rounds_at_deadline.inc();
  m.consensus_round_duration.observe(5.004);
  m.peer_fetches.labels({"ok"}).inc(3);
  m.peer_fetches.labels({"timeout"}).inc();
  m.peer_fetches.labels({"something new"}).inc(); // counted as "other"
  m.http_request("/chain", "GET", 200, 0.0004);
  m.http_request("/transactions/new", "POST", 201, 0.00012);
  m.http_request("/transactions/new", "POST", 400, 0.00003);
  m.http_request("/../../etc/passwd", "GET", 404, 0.00002);
  m.http_request("/mine", "BREW", 405, 0.00002);
  m.http_request("/metrics", "GET", 299, 0.001);
  m.storage_commit_duration.observe(0.004);
  m.storage_commit_changes.observe(250);
}

} // namespace

TEST_CASE("the node declares every family of the issue's table") {
  registry r;
  declare_node_metrics(r, "0.1.0", routes);
  auto types = types_of(r.render());
  const std::map<std::string, std::string> expected{
    {"dlt_chain_height", "gauge"},
    {"dlt_mempool_transactions", "gauge"},
    {"dlt_peers", "gauge"},
    {"dlt_native_peers_linked", "gauge"},
    {"dlt_transactions_received_total", "counter"},
    {"dlt_blocks_mined_total", "counter"},
    {"dlt_blocks_received_total", "counter"},
    {"dlt_chain_reorgs_total", "counter"},
    {"dlt_chain_reorg_depth_blocks", "histogram"},
    {"dlt_consensus_rounds_total", "counter"},
    {"dlt_consensus_round_duration_seconds", "histogram"},
    {"dlt_peer_fetches_total", "counter"},
    {"dlt_http_requests_total", "counter"},
    {"dlt_http_request_duration_seconds", "histogram"},
    {"dlt_http_connections", "gauge"},
    {"dlt_event_streams", "gauge"},
    {"dlt_storage_commit_duration_seconds", "histogram"},
    {"dlt_storage_commit_changes", "histogram"},
    {"dlt_build_info", "gauge"},
    {"process_cpu_seconds_total", "counter"},
    {"process_resident_memory_bytes", "gauge"},
    {"process_virtual_memory_bytes", "gauge"},
    {"process_open_fds", "gauge"},
    {"process_max_fds", "gauge"},
    {"process_start_time_seconds", "gauge"},
  };
  for (const auto& [name, type] : expected) {
    INFO(name);
    REQUIRE(types.count(name));
    CHECK(types[name] == type);
  }
}

TEST_CASE("a fresh node shows zeros where rate() needs them") {
  registry r;
  declare_node_metrics(r, "0.1.0", routes);
  auto text = r.render();
  CHECK(has_line(text, "dlt_build_info{version=\"0.1.0\"} 1"));
  CHECK(has_line(text, "dlt_chain_height 0"));
  CHECK(has_line(text, "dlt_peers{kind=\"http\"} 0"));
  CHECK(has_line(text, "dlt_peers{kind=\"native\"} 0"));
  CHECK(has_line(text, "dlt_consensus_rounds_total{outcome=\"replaced\"} 0"));
  CHECK(has_line(text, "dlt_consensus_rounds_total{outcome=\"kept\"} 0"));
  CHECK(has_line(text, "dlt_blocks_received_total{via=\"gossip\"} 0"));
  CHECK(has_line(text, "dlt_peer_fetches_total{result=\"timeout\"} 0"));
  CHECK(has_line(text, "dlt_chain_reorg_depth_blocks_count 0"));
  // route x method x code would be hundreds of zero lines: used ones only.
  CHECK(text.find("dlt_http_requests_total{") == std::string::npos);
  CHECK(text.find("dlt_http_request_duration_seconds_bucket{")
        == std::string::npos);
}

TEST_CASE("HTTP requests count under bounded route, method and code") {
  registry r;
  auto m = declare_node_metrics(r, "0.1.0", routes);
  traffic(m);
  m.http_request("/chain", "GET", 200, 0.0004);
  auto text = r.render();
  CHECK(has_line(text, "dlt_http_requests_total{route=\"/chain\",method="
                       "\"GET\",code=\"200\"} 2"));
  CHECK(has_line(text, "dlt_http_requests_total{route=\"/transactions/new\","
                       "method=\"POST\",code=\"201\"} 1"));
  CHECK(has_line(text, "dlt_http_requests_total{route=\"/transactions/new\","
                       "method=\"POST\",code=\"400\"} 1"));
  // Raw paths, invented methods and unusual codes never become labels.
  CHECK(text.find("passwd") == std::string::npos);
  CHECK(text.find("BREW") == std::string::npos);
  CHECK(has_line(text, "dlt_http_requests_total{route=\"unknown\",method="
                       "\"GET\",code=\"404\"} 1"));
  CHECK(has_line(text, "dlt_http_requests_total{route=\"/mine\",method="
                       "\"other\",code=\"405\"} 1"));
  CHECK(has_line(text, "dlt_http_requests_total{route=\"/metrics\",method="
                       "\"GET\",code=\"other\"} 1"));
  CHECK(has_line(text, "dlt_http_request_duration_seconds_count{route="
                       "\"/chain\"} 2"));
  CHECK(has_line(text, "dlt_http_request_duration_seconds_bucket{route="
                       "\"/chain\",le=\"0.0005\"} 2"));
  CHECK(has_line(text, "dlt_http_request_duration_seconds_bucket{route="
                       "\"/chain\",le=\"0.00025\"} 0"));
  CHECK(has_line(text, "dlt_peer_fetches_total{result=\"other\"} 1"));
  CHECK(has_line(text, "dlt_transactions_received_total 1000"));
  // A round that ran into the 5 s deadline lands above the 5 s bucket.
  CHECK(has_line(text,
                 "dlt_consensus_round_duration_seconds_bucket{le=\"5\"} 0"));
  CHECK(has_line(text,
                 "dlt_consensus_round_duration_seconds_bucket{le=\"7.5\"} 1"));
}

TEST_CASE("promtool accepts the node's exposition after traffic of every kind") {
  if (std::system("promtool --version >/dev/null 2>&1") != 0) {
    WARN("promtool not installed (Debian package prometheus): not checked");
    return;
  }
  registry r;
  auto m = declare_node_metrics(r, "0.1.0 \"test\"\\build", routes);
  traffic(m);
  char path[] = "/tmp/dlt-metrics-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  auto text = r.render();
  REQUIRE(write(fd, text.data(), text.size())
          == static_cast<ssize_t>(text.size()));
  close(fd);
  // check metrics reads stdin; lint problems are printed and exit 1 (3 in
  // newer versions), so any output at all is a failure.
  std::string cmd = std::string{"promtool check metrics < "} + path + " 2>&1";
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p);
  char buf[512];
  while (auto n = fread(buf, 1, sizeof buf, p))
    out.append(buf, n);
  int status = pclose(p);
  unlink(path);
  INFO(out);
  CHECK(status == 0);
  CHECK(out.empty());
}
