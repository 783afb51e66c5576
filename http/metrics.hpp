#pragma once
// Prometheus metrics: a small registry of counters, gauges and histograms
// and their text exposition (format 0.0.4), plus the families the node
// exposes (node_metrics). No CAF, no Beast: any layer may count.
//
// Writers never lock: every update is one or two relaxed atomic operations
// on a cell the caller already holds (or finds by its label values among
// the values declared up front). Rendering reads the same atomics and takes
// only the registry's declaration lock, which writers never touch. Families
// are declared once at start-up; their cells never move.
//
// Labels have bounded values only: each label declares its values (and
// optionally a fallback value that undeclared values count under, such as
// route "unknown"), so a family's series are a fixed, dense array.

#include <atomic>
#include <cstdint>
#include <deque>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace dlt::metrics {

/// A monotonically increasing count (a `_total`).
class counter {
public:
  void inc(std::uint64_t n = 1) noexcept {
    value_.fetch_add(n, std::memory_order_relaxed);
  }
  std::uint64_t value() const noexcept {
    return value_.load(std::memory_order_relaxed);
  }

private:
  std::atomic<std::uint64_t> value_{0};
};

/// A value that goes up and down (heights, queue lengths, open streams).
class gauge {
public:
  void set(std::int64_t v) noexcept {
    value_.store(v, std::memory_order_relaxed);
  }
  void inc(std::int64_t n = 1) noexcept {
    value_.fetch_add(n, std::memory_order_relaxed);
  }
  void dec(std::int64_t n = 1) noexcept {
    value_.fetch_sub(n, std::memory_order_relaxed);
  }
  std::int64_t value() const noexcept {
    return value_.load(std::memory_order_relaxed);
  }

private:
  std::atomic<std::int64_t> value_{0};
};

/// Observations counted into buckets with fixed upper bounds (inclusive,
/// as Prometheus' `le`), plus their sum and count.
class histogram {
public:
  /// `bounds`: increasing, finite; outlives the histogram (its family's).
  explicit histogram(const std::vector<double>& bounds);

  /// Counts `v` into the first bucket whose bound is >= v (the +Inf bucket
  /// above the last bound). NaN is ignored: it would poison the sum forever.
  void observe(double v) noexcept;

  struct snapshot {
    std::vector<std::uint64_t> cumulative; // per bound, then +Inf
    double sum = 0;
    std::uint64_t count = 0; // == cumulative.back()
  };
  snapshot read() const;
  const std::vector<double>& bounds() const noexcept { return bounds_; }

private:
  const std::vector<double>& bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_; // not cumulative
  std::atomic<std::uint64_t> sum_bits_{0};                // a double's bits
};

/// One label of a family: its name, every value it may take and, when not
/// empty, the value that undeclared values are counted under.
struct label {
  std::string name;
  std::vector<std::string> values;
  std::string fallback;
};

/// Which series of a labelled family are rendered: all of them (small
/// families, so that rate() sees a zero before the first event), or only
/// those with a non-zero value or count (large cross products such as
/// route x method x code).
enum class show { all, used };

enum class kind { counter, gauge, histogram };

/// A named metric with labels: one cell per combination of label values.
template <class Cell>
class family {
public:
  /// The cell for these label values (in the order of the family's labels).
  /// An undeclared value counts under its label's fallback; without a
  /// fallback it is a programming error: throws std::invalid_argument.
  Cell& labels(std::initializer_list<std::string_view> values);
  /// The same by the position of the cell, from index().
  Cell& at(std::size_t index) { return cells_[index]; }
  std::size_t index(std::initializer_list<std::string_view> values) const;
  std::size_t size() const noexcept { return cells_.size(); }

private:
  friend class registry;
  template <class... Args>
  family(std::vector<label> labels, Args&&... cell_args);
  std::vector<label> labels_;
  std::deque<Cell> cells_; // a deque: cells are atomic, never move
};

/// The metrics of one process and their exposition.
class registry {
public:
  registry();
  ~registry();
  registry(const registry&) = delete;
  registry& operator=(const registry&) = delete;

  // Declarations. Names follow Prometheus' naming rules (counters end in
  // `_total`; `le` is reserved for histograms); a bad or duplicate name
  // throws std::invalid_argument. Help texts say what is counted, in what
  // unit.
  counter& add_counter(const std::string& name, const std::string& help);
  gauge& add_gauge(const std::string& name, const std::string& help);
  histogram& add_histogram(const std::string& name, const std::string& help,
                           std::vector<double> bounds);
  family<counter>& add_counter(const std::string& name,
                               const std::string& help,
                               std::vector<label> labels,
                               show shown = show::all);
  family<gauge>& add_gauge(const std::string& name, const std::string& help,
                           std::vector<label> labels);
  family<histogram>& add_histogram(const std::string& name,
                                   const std::string& help,
                                   std::vector<double> bounds,
                                   std::vector<label> labels,
                                   show shown = show::all);

  /// Adds the process_* metrics of Prometheus' client libraries (CPU,
  /// memory, descriptors, start time; read from /proc/self when rendered).
  void add_process_metrics();

  /// The exposition: `# HELP`, `# TYPE` and samples of every family, in
  /// the order declared. Never blocks a writer.
  std::string render() const;
  void render(std::string& out) const;

  /// Content-Type of the exposition.
  static constexpr std::string_view content_type =
    "text/plain; version=0.0.4; charset=utf-8";

private:
  struct entry;
  mutable std::mutex mutex_; // declarations and rendering only
  std::vector<std::unique_ptr<entry>> entries_;
  bool process_ = false;
  std::unique_ptr<entry> declare(const std::string& name,
                                 const std::string& help, kind k,
                                 const std::vector<label>& labels, show shown);
  void publish(std::unique_ptr<entry> e);
};

/// What the process_* metrics report (read from /proc/self and getrlimit).
struct process_stats {
  double cpu_seconds = 0;
  double resident_memory_bytes = 0;
  double virtual_memory_bytes = 0;
  double open_fds = 0;
  double max_fds = 0;
  double start_time_seconds = 0; // since the Unix epoch
  bool ok = false;               // false: /proc/self could not be read
};
process_stats read_process_stats();

/// Prometheus' escaping of a label value (`\`, `"`, newline) and of a help
/// text (`\`, newline).
std::string escape_label_value(std::string_view v);
std::string escape_help(std::string_view v);

/// Bucket bounds used by the node's histograms.
namespace bounds {
/// Seconds, 50 us to 10 s: most answers take well under a millisecond, but
/// a long chain to a slow reader or a consensus request takes seconds.
std::vector<double> http_seconds();
/// Seconds, 1 ms to 60 s: rounds take the slowest peer's time, bounded by
/// --peer-timeout-ms (default 5 s).
std::vector<double> consensus_seconds();
/// Blocks dropped by one reorg.
std::vector<double> reorg_blocks();
/// Seconds per group commit (one SQLite transaction and one sync).
std::vector<double> commit_seconds();
/// Changes stored by one group commit.
std::vector<double> commit_changes();
} // namespace bounds

/// The node's metrics (issue 13's table and a few more): declared by
/// declare_node_metrics, updated where the node handles things.
struct node_metrics {
  // Gauges: what the API reports at this moment.
  gauge& chain_height;             // dlt_chain_height
  gauge& mempool_transactions;     // dlt_mempool_transactions
  family<gauge>& peers;            // dlt_peers{kind=http|native}
  gauge& native_peers_linked;      // dlt_native_peers_linked
  gauge& http_connections;         // dlt_http_connections
  gauge& event_streams;            // dlt_event_streams
  // Counters.
  counter& transactions_received;  // dlt_transactions_received_total
  counter& blocks_mined;           // dlt_blocks_mined_total
  family<counter>& blocks_received;   // {via=consensus|gossip}
  counter& chain_reorgs;           // dlt_chain_reorgs_total
  counter& chain_pops;             // dlt_chain_pops_total (evil)
  family<counter>& consensus_rounds;  // {outcome=replaced|kept}
  counter& consensus_rounds_at_deadline;
  family<counter>& peer_fetches;   // {result=ok|timeout|...}
  family<counter>& http_requests;  // {route, method, code}
  // Histograms.
  histogram& chain_reorg_depth;          // blocks dropped
  histogram& consensus_round_duration;   // seconds
  family<histogram>& http_request_duration; // {route}, seconds
  histogram& storage_commit_duration;    // seconds
  histogram& storage_commit_changes;     // changes per group commit

  /// One answered HTTP request: counts it under (route, method, status)
  /// and observes its duration under route. Unknown routes count under
  /// route "unknown", methods outside the usual ones under "other",
  /// statuses outside the declared ones under "other".
  void http_request(std::string_view route, std::string_view method,
                    unsigned status, double seconds);
};

/// Declares every family of the node on `r` (plus the process metrics and
/// dlt_build_info{version} 1). `routes`: the route table's names, the only
/// values of the `route` label besides "unknown".
node_metrics declare_node_metrics(registry& r, const std::string& version,
                                  const std::vector<std::string>& routes);

} // namespace dlt::metrics
