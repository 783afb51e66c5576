// dlt-metrics-bench: what one update of the metrics registry costs, on one
// thread and on two threads hitting the same cells (the worst case for
// relaxed atomics: the cache line bounces between cores). Not run by CTest;
// timing belongs in benchmarks.
//
//   dlt-metrics-bench [iterations per thread, default 20000000]

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "http/metrics.hpp"

using namespace dlt::metrics;

namespace {

template <class F>
double ns_per_op(int threads, long iterations, F op) {
  std::vector<std::thread> ts;
  auto start = std::chrono::steady_clock::now();
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&, t] {
      for (long i = 0; i < iterations; ++i)
        op(t, i);
    });
  for (auto& t : ts)
    t.join();
  std::chrono::duration<double, std::nano> took =
    std::chrono::steady_clock::now() - start;
  // Wall time per operation of one thread: with 2 threads on 2 cores,
  // what each update costs its caller.
  return took.count() / static_cast<double>(iterations);
}

void row(const char* what, double one, double two) {
  std::printf("| %-52s | %8.1f | %8.1f |\n", what, one, two);
}

} // namespace

int main(int argc, char** argv) {
  long n = argc > 1 ? std::atol(argv[1]) : 20000000;
  registry r;
  auto m = declare_node_metrics(r, "bench", {"/chain", "/transactions/new",
                                              "/mine", "/nodes/register",
                                              "/nodes/consensus",
                                              "/action/evil", "/metrics"});
  auto& c = r.add_counter("bench_ops_total", "Ops.");
  auto& g = r.add_gauge("bench_open", "Open.");
  auto& h = r.add_histogram("bench_op_seconds", "Op time.",
                            bounds::http_seconds());
  auto& route = m.http_request_duration.labels({"/transactions/new"});

  std::printf("ns per operation (wall time per calling thread), %ld ops "
              "per thread\n\n", n);
  std::printf("| %-52s | 1 thread | 2 threads, same cells |\n", "operation");
  std::printf("|%s|---------:|---------:|\n", std::string(54, '-').c_str());
  auto both = [&](const char* what, auto op) {
    row(what, ns_per_op(1, n, op), ns_per_op(2, n, op));
  };
  both("counter.inc()", [&](int, long) { c.inc(); });
  both("gauge.inc(); gauge.dec()", [&](int, long) {
    g.inc();
    g.dec();
  });
  both("histogram.observe(0.0003) (17 bounds)",
       [&](int, long) { h.observe(0.0003); });
  both("histogram.observe(3.0) (bucket 16 of 17)",
       [&](int, long) { h.observe(3.0); });
  both("family.labels({route}).observe(0.0003)", [&](int, long) {
    m.http_request_duration.labels({"/transactions/new"}).observe(0.0003);
  });
  both("held cell: route.observe(0.0003)",
       [&](int, long) { route.observe(0.0003); });
  both("node_metrics::http_request(route, POST, 201, s)", [&](int, long i) {
    m.http_request("/transactions/new", "POST", 201,
                   0.0001 + static_cast<double>(i & 7) * 0.0001);
  });

  // A scrape: render everything (with the used HTTP series above).
  std::string out;
  constexpr int renders = 2000;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < renders; ++i) {
    out.clear();
    r.render(out);
  }
  std::chrono::duration<double, std::micro> took =
    std::chrono::steady_clock::now() - start;
  std::printf("\nrender: %.1f us per scrape, %zu bytes\n",
              took.count() / renders, out.size());
}
