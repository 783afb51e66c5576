// dlt-metrics-sample: prints the exposition of a fresh node's metrics (every
// family, as declare_node_metrics declares them), so that scripts can check
// the alerting rules and dashboards against the names the node exposes.

#include <iostream>

#include "http/metrics.hpp"

int main() {
  dlt::metrics::registry r;
  auto m = dlt::metrics::declare_node_metrics(r, "sample", {"/chain"});
  // One request, so that the used-only HTTP families show too.
  m.http_request("/chain", "GET", 200, 0.0001);
  std::cout << r.render();
}
