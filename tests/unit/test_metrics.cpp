#include <catch2/catch.hpp>

#include <sys/resource.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>
#include <vector>

#include "http/metrics.hpp"

using namespace dlt::metrics;

namespace {

/// The sample lines of `text` that start with `prefix`.
std::vector<std::string> lines_with(const std::string& text,
                                    const std::string& prefix) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(prefix, 0) == 0)
      out.push_back(line);
  return out;
}

/// The value of the one sample named exactly `series` (name and labels).
std::string sample(const std::string& text, const std::string& series) {
  auto found = lines_with(text, series + " ");
  REQUIRE(found.size() == 1);
  return found[0].substr(series.size() + 1);
}

} // namespace

TEST_CASE("counters count exactly under concurrent increments") {
  registry r;
  auto& c = r.add_counter("test_events_total", "Events.");
  auto& g = r.add_gauge("test_open", "Open things.");
  auto& f = r.add_counter("test_calls_total", "Calls.",
                          {{"kind", {"a", "b"}, {}}});
  constexpr int threads = 8, per_thread = 100000;
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&, t] {
      auto& mine = f.labels({t % 2 ? "a" : "b"});
      for (int i = 0; i < per_thread; ++i) {
        c.inc();
        g.inc();
        mine.inc(2);
        g.dec();
      }
    });
  for (auto& t : ts)
    t.join();
  CHECK(c.value() == std::uint64_t{threads} * per_thread);
  CHECK(g.value() == 0);
  CHECK(f.labels({"a"}).value() == 2ull * per_thread * threads / 2);
  CHECK(f.labels({"b"}).value() == 2ull * per_thread * threads / 2);
  auto text = r.render();
  CHECK(sample(text, "test_events_total") == "800000");
  CHECK(sample(text, "test_calls_total{kind=\"a\"}") == "800000");
}

TEST_CASE("histograms count every concurrent observation in its bucket") {
  registry r;
  auto& h = r.add_histogram("test_wait_seconds", "Waits.", {0.5, 1, 2});
  constexpr int threads = 4, per_thread = 50000;
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&] {
      for (int i = 0; i < per_thread; ++i) {
        h.observe(0.25); // bucket le=0.5
        h.observe(2);    // bucket le=2 (bounds are inclusive)
        h.observe(4);    // +Inf only
      }
    });
  for (auto& t : ts)
    t.join();
  auto s = h.read();
  const std::uint64_t n = threads * per_thread;
  REQUIRE(s.cumulative.size() == 4);
  CHECK(s.cumulative[0] == n);
  CHECK(s.cumulative[1] == n);
  CHECK(s.cumulative[2] == 2 * n);
  CHECK(s.cumulative[3] == 3 * n);
  CHECK(s.count == 3 * n);
  // 0.25, 2 and 4 are exact binary fractions: the sum is exact too.
  CHECK(s.sum == 6.25 * n);
}

TEST_CASE("histogram bucket placement and exposition") {
  registry r;
  auto& h = r.add_histogram("test_size_bytes", "Sizes.", {0.001, 1, 10});
  h.observe(-5);    // below every bound: first bucket
  h.observe(0.001); // exactly on a bound: that bucket
  h.observe(0.0011);
  h.observe(10);
  h.observe(11);
  h.observe(std::nan("")); // ignored
  h.observe(INFINITY);     // counted above every bound
  auto text = r.render();
  CHECK(text
        == "# HELP test_size_bytes Sizes.\n"
           "# TYPE test_size_bytes histogram\n"
           "test_size_bytes_bucket{le=\"0.001\"} 2\n"
           "test_size_bytes_bucket{le=\"1\"} 3\n"
           "test_size_bytes_bucket{le=\"10\"} 4\n"
           "test_size_bytes_bucket{le=\"+Inf\"} 6\n"
           "test_size_bytes_sum +Inf\n"
           "test_size_bytes_count 6\n");
}

TEST_CASE("labelled histograms put le last and render sum and count") {
  registry r;
  auto& f = r.add_histogram("test_latency_seconds", "Latency.", {0.1},
                            {{"route", {"/a", "/b"}, "unknown"}}, show::used);
  f.labels({"/b"}).observe(0.05);
  f.labels({"/zzz"}).observe(0.5); // undeclared: counted under "unknown"
  auto text = r.render();
  CHECK(text
        == "# HELP test_latency_seconds Latency.\n"
           "# TYPE test_latency_seconds histogram\n"
           "test_latency_seconds_bucket{route=\"/b\",le=\"0.1\"} 1\n"
           "test_latency_seconds_bucket{route=\"/b\",le=\"+Inf\"} 1\n"
           "test_latency_seconds_sum{route=\"/b\"} 0.05\n"
           "test_latency_seconds_count{route=\"/b\"} 1\n"
           "test_latency_seconds_bucket{route=\"unknown\",le=\"0.1\"} 0\n"
           "test_latency_seconds_bucket{route=\"unknown\",le=\"+Inf\"} 1\n"
           "test_latency_seconds_sum{route=\"unknown\"} 0.5\n"
           "test_latency_seconds_count{route=\"unknown\"} 1\n");
}

TEST_CASE("label values and help texts are escaped") {
  CHECK(escape_label_value("a\\b\"c\nd") == "a\\\\b\\\"c\\nd");
  CHECK(escape_help("x\\y\nz \"q\"") == "x\\\\y\\nz \"q\"");
  registry r;
  r.add_gauge("test_info", "Line one\nline \\two.",
              {{"version", {"1.0 \"beta\"\n\\x"}, {}}})
    .at(0)
    .set(1);
  CHECK(r.render()
        == "# HELP test_info Line one\\nline \\\\two.\n"
           "# TYPE test_info gauge\n"
           "test_info{version=\"1.0 \\\"beta\\\"\\n\\\\x\"} 1\n");
}

TEST_CASE("label values: fallbacks, order, and what is refused") {
  registry r;
  auto& f = r.add_counter("test_requests_total", "Requests.",
                          {{"route", {"/chain", "/mine"}, "unknown"},
                           {"code", {"200", "404"}, {}}},
                          show::used);
  REQUIRE(f.size() == 6); // (/chain, /mine, unknown) x (200, 404)
  f.labels({"/mine", "404"}).inc(3);
  f.labels({"/secret/path", "200"}).inc();
  CHECK(f.at(f.index({"/mine", "404"})).value() == 3);
  CHECK_THROWS_AS(f.labels({"/chain", "418"}), std::invalid_argument);
  CHECK_THROWS_AS(f.labels({"/chain"}), std::invalid_argument);
  // Only used series are shown, in declaration order.
  CHECK(lines_with(r.render(), "test_requests_total{")
        == std::vector<std::string>{
          "test_requests_total{route=\"/mine\",code=\"404\"} 3",
          "test_requests_total{route=\"unknown\",code=\"200\"} 1"});
}

TEST_CASE("small families show zero series; gauges can go negative") {
  registry r;
  r.add_counter("test_rounds_total", "Rounds.",
                {{"outcome", {"replaced", "kept"}, {}}});
  r.add_gauge("test_delta", "Delta.").set(-7);
  auto text = r.render();
  CHECK(sample(text, "test_rounds_total{outcome=\"replaced\"}") == "0");
  CHECK(sample(text, "test_rounds_total{outcome=\"kept\"}") == "0");
  CHECK(sample(text, "test_delta") == "-7");
}

TEST_CASE("names that break Prometheus' conventions are refused") {
  registry r;
  auto refused = [&](auto declare) {
    CHECK_THROWS_AS(declare(), std::invalid_argument);
  };
  refused([&] { r.add_counter("test_events", "no _total"); });
  refused([&] { r.add_gauge("test_things_total", "gauge with _total"); });
  refused([&] { r.add_gauge("test:ratio", "colon"); });
  refused([&] { r.add_gauge("9lives", "digit first"); });
  refused([&] { r.add_gauge("test_hits_count", "reserved suffix"); });
  refused([&] { r.add_gauge("test_nohelp", ""); });
  refused([&] { r.add_gauge("test_x", "le", {{"le", {"1"}, {}}}); });
  refused([&] { r.add_gauge("test_y", "__", {{"__a", {"1"}, {}}}); });
  refused([&] { r.add_gauge("test_z", "empty", {{"a", {}, {}}}); });
  refused([&] { r.add_gauge("test_w", "dup", {{"a", {"1", "1"}, {}}}); });
  refused([&] {
    r.add_gauge("test_v", "twice", {{"a", {"1"}, {}}, {"a", {"2"}, {}}});
  });
  refused([&] { r.add_histogram("test_h_seconds", "down", {1, 0.5}); });
  refused([&] { r.add_histogram("test_i_seconds", "inf", {1, INFINITY}); });
  r.add_gauge("test_once", "ok");
  refused([&] { r.add_gauge("test_once", "again"); });
  // Nothing refused was half-declared.
  CHECK(r.render() == "# HELP test_once ok\n# TYPE test_once gauge\ntest_once 0\n");
}

TEST_CASE("rendering while writers run sees consistent, growing values") {
  registry r;
  auto& c = r.add_counter("test_ops_total", "Ops.");
  auto& h = r.add_histogram("test_op_seconds", "Op time.", {0.001, 0.01});
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (int t = 0; t < 2; ++t)
    writers.emplace_back([&] {
      while (!stop.load()) {
        c.inc();
        h.observe(0.005);
      }
    });
  std::uint64_t last = 0;
  for (int i = 0; i < 200; ++i) {
    auto text = r.render();
    auto now = std::stoull(sample(text, "test_ops_total"));
    CHECK(now >= last);
    last = now;
    CHECK(sample(text, "test_op_seconds_bucket{le=\"+Inf\"}")
          == sample(text, "test_op_seconds_count"));
  }
  stop = true;
  for (auto& t : writers)
    t.join();
}

TEST_CASE("process metrics as Prometheus' client libraries define them") {
  auto before = read_process_stats();
  REQUIRE(before.ok);
  CHECK(before.resident_memory_bytes > 0);
  CHECK(before.virtual_memory_bytes >= before.resident_memory_bytes);
  rlimit lim{};
  REQUIRE(getrlimit(RLIMIT_NOFILE, &lim) == 0);
  CHECK(before.max_fds == static_cast<double>(lim.rlim_cur));

  // Start time: the client libraries' definition is /proc/stat's btime plus
  // /proc/self/stat's starttime in clock ticks.
  std::ifstream ps("/proc/stat");
  double btime = 0;
  for (std::string key; ps >> key;)
    if (key == "btime") {
      ps >> btime;
      break;
    }
  std::ifstream ss("/proc/self/stat");
  std::string stat;
  std::getline(ss, stat);
  std::istringstream fields(stat.substr(stat.rfind(')') + 1));
  std::vector<std::string> tok{std::istream_iterator<std::string>{fields}, {}};
  double expected = btime + std::stod(tok[19]) / sysconf(_SC_CLK_TCK);
  CHECK(std::fabs(before.start_time_seconds - expected) < 1.5);

  ps.close();
  ss.close();

  // Open descriptors: one more while a file is open.
  auto closed = read_process_stats();
  std::FILE* f = std::fopen("/proc/self/stat", "r");
  REQUIRE(f);
  auto during = read_process_stats();
  std::fclose(f);
  CHECK(during.open_fds == closed.open_fds + 1);
  CHECK(read_process_stats().open_fds == closed.open_fds);

  // CPU time grows with work done.
  volatile double x = 0;
  auto cpu0 = std::clock();
  while (std::clock() - cpu0 < CLOCKS_PER_SEC / 20)
    x = x + std::sqrt(x + 1);
  CHECK(read_process_stats().cpu_seconds > before.cpu_seconds);

  registry r;
  r.add_process_metrics();
  auto text = r.render();
  for (auto name : {"process_cpu_seconds_total", "process_resident_memory_bytes",
                    "process_virtual_memory_bytes", "process_open_fds",
                    "process_max_fds", "process_start_time_seconds"}) {
    INFO(name);
    CHECK(lines_with(text, std::string{"# TYPE "} + name + " ").size() == 1);
    CHECK(lines_with(text, std::string{name} + " ").size() == 1);
  }
}

TEST_CASE("families declared while scrapes run appear whole or not at all") {
  registry r;
  std::atomic<bool> stop{false};
  std::atomic<int> renders{0};
  std::thread scraper([&] {
    while (!stop.load()) {
      auto text = r.render();
      // Every histogram family shown has all its series' _count lines.
      std::istringstream in(text);
      for (std::string line; std::getline(in, line);)
        if (line.rfind("# TYPE ", 0) == 0
            && line.size() > 10
            && line.compare(line.size() - 10, 10, " histogram") == 0) {
          auto name = line.substr(7, line.size() - 17);
          CHECK(lines_with(text, name + "_count{").size() == 3);
        }
      ++renders;
    }
  });
  for (int i = 0; i < 300; ++i)
    r.add_histogram("test_h" + std::to_string(i) + "_seconds", "H.", {1},
                    {{"k", {"a", "b", "c"}, {}}});
  while (renders.load() < 3)
    std::this_thread::yield();
  stop = true;
  scraper.join();
  CHECK(lines_with(r.render(), "# TYPE ").size() == 300);
}
