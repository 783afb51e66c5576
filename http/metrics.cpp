#include "http/metrics.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>
#include <stdexcept>

namespace dlt::metrics {

namespace {

constexpr auto relaxed = std::memory_order_relaxed;

std::uint64_t to_bits(double d) {
  std::uint64_t u;
  std::memcpy(&u, &d, sizeof u);
  return u;
}

double from_bits(std::uint64_t u) {
  double d;
  std::memcpy(&d, &u, sizeof d);
  return d;
}

/// Floats as Prometheus' Go client writes them (strconv 'g', shortest):
/// the shortest digits that round-trip, in exponent form when the decimal
/// exponent is below -4 or at least 6. Bucket bounds are matched as text by
/// PromQL (`le="0.0005"`), so the spelling must be the usual one.
void append_double(std::string& out, double d) {
  if (std::isnan(d)) {
    out += "NaN";
    return;
  }
  if (std::isinf(d)) {
    out += d > 0 ? "+Inf" : "-Inf";
    return;
  }
  char buf[40];
  auto r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string_view sci(buf, static_cast<std::size_t>(r.ptr - buf));
  // sci: [-]d[.ddd]e(+|-)dd
  auto e = sci.find('e');
  int exp = std::atoi(std::string{sci.substr(e + 1)}.c_str());
  std::string digits;
  bool negative = false;
  for (char c : sci.substr(0, e))
    if (c == '-')
      negative = true;
    else if (c != '.')
      digits += c;
  if (negative)
    out += '-';
  if (exp < -4 || exp >= 6) {
    out += digits[0];
    if (digits.size() > 1) {
      out += '.';
      out.append(digits, 1, std::string::npos);
    }
    out += exp < 0 ? "e-" : "e+";
    int a = exp < 0 ? -exp : exp;
    if (a < 10)
      out += '0';
    out += std::to_string(a);
  } else if (exp < 0) {
    out += "0.";
    out.append(static_cast<std::size_t>(-exp - 1), '0');
    out += digits;
  } else {
    auto whole = static_cast<std::size_t>(exp) + 1;
    if (digits.size() <= whole) {
      out += digits;
      out.append(whole - digits.size(), '0');
    } else {
      out.append(digits, 0, whole);
      out += '.';
      out.append(digits, whole, std::string::npos);
    }
  }
}

template <class Int>
void append_int(std::string& out, Int v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

bool ends_with(std::string_view s, std::string_view tail) {
  return s.size() >= tail.size() && s.substr(s.size() - tail.size()) == tail;
}

bool valid_name(std::string_view s, bool colon) {
  if (s.empty())
    return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'
              || (colon && c == ':') || (i > 0 && c >= '0' && c <= '9');
    if (!ok)
      return false;
  }
  return true;
}

[[noreturn]] void refuse(const std::string& name, const std::string& why) {
  throw std::invalid_argument("metric " + name + ": " + why);
}

const char* type_word(kind k) {
  switch (k) {
    case kind::counter:
      return "counter";
    case kind::gauge:
      return "gauge";
    case kind::histogram:
      return "histogram";
  }
  return "untyped";
}

} // namespace

// --- cells -------------------------------------------------------------------

histogram::histogram(const std::vector<double>& bounds)
  : bounds_(bounds),
    buckets_(new std::atomic<std::uint64_t>[bounds.size() + 1]) {
  for (std::size_t i = 0; i <= bounds.size(); ++i)
    buckets_[i].store(0, relaxed);
  sum_bits_.store(to_bits(0.0), relaxed);
}

void histogram::observe(double v) noexcept {
  if (std::isnan(v))
    return;
  // A linear scan: the node's observations mostly land in the first few
  // buckets, and a dozen compares beat a binary search's mispredictions.
  std::size_t i = 0;
  const auto n = bounds_.size();
  while (i < n && v > bounds_[i])
    ++i;
  buckets_[i].fetch_add(1, relaxed);
  auto old = sum_bits_.load(relaxed);
  while (!sum_bits_.compare_exchange_weak(old, to_bits(from_bits(old) + v),
                                          relaxed))
    ;
}

histogram::snapshot histogram::read() const {
  snapshot s;
  s.cumulative.resize(bounds_.size() + 1);
  std::uint64_t total = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    total += buckets_[i].load(relaxed);
    s.cumulative[i] = total;
  }
  s.count = total; // from the same reads, so _count always equals +Inf
  s.sum = from_bits(sum_bits_.load(relaxed));
  return s;
}

// --- families ----------------------------------------------------------------

template <class Cell>
template <class... Args>
family<Cell>::family(std::vector<label> labels, Args&&... cell_args)
  : labels_(std::move(labels)) {
  std::size_t n = 1;
  for (const auto& l : labels_)
    n *= l.values.size();
  for (std::size_t i = 0; i < n; ++i)
    cells_.emplace_back(cell_args...);
}

template <class Cell>
std::size_t
family<Cell>::index(std::initializer_list<std::string_view> values) const {
  if (values.size() != labels_.size())
    throw std::invalid_argument("expected " + std::to_string(labels_.size())
                                + " label values, got "
                                + std::to_string(values.size()));
  std::size_t flat = 0;
  auto v = values.begin();
  for (const auto& l : labels_) {
    const auto& vs = l.values;
    auto it = std::find(vs.begin(), vs.end(), *v);
    if (it == vs.end()) {
      if (l.fallback.empty())
        throw std::invalid_argument("label " + l.name + ": undeclared value \""
                                    + std::string{*v} + "\"");
      it = std::find(vs.begin(), vs.end(), l.fallback);
    }
    flat = flat * vs.size() + static_cast<std::size_t>(it - vs.begin());
    ++v;
  }
  return flat;
}

template <class Cell>
Cell& family<Cell>::labels(std::initializer_list<std::string_view> values) {
  return cells_[index(values)];
}

template class family<counter>;
template class family<gauge>;
template class family<histogram>;

// --- registry ----------------------------------------------------------------

struct registry::entry {
  std::string name;
  std::string help;
  kind type = kind::counter;
  show shown = show::all;
  std::vector<double> bounds; // histograms; their cells refer to it
  /// Per cell: `a="x",b="y"` (escaped), computed once.
  std::vector<std::string> label_text;
  std::unique_ptr<family<counter>> counters;
  std::unique_ptr<family<gauge>> gauges;
  std::unique_ptr<family<histogram>> histograms;
};

registry::registry() = default;
registry::~registry() = default;

std::unique_ptr<registry::entry>
registry::declare(const std::string& name, const std::string& help, kind k,
                  const std::vector<label>& labels, show shown) {
  if (!valid_name(name, false))
    refuse(name, "a name is [a-zA-Z_][a-zA-Z0-9_]* (colons are for "
                 "recording rules)");
  if ((k == kind::counter) != ends_with(name, "_total"))
    refuse(name, "counters, and only counters, end in _total");
  for (auto tail : {"_bucket", "_count", "_sum"})
    if (ends_with(name, tail))
      refuse(name, std::string{"the suffix "} + tail
                     + " is reserved for histograms");
  if (help.empty())
    refuse(name, "needs a help text");
  std::size_t cells = 1;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const auto& l = labels[i];
    if (!valid_name(l.name, false) || l.name.rfind("__", 0) == 0)
      refuse(name, "bad label name \"" + l.name + "\"");
    if (l.name == "le" || l.name == "quantile")
      refuse(name, "label " + l.name + " is reserved");
    for (std::size_t j = 0; j < i; ++j)
      if (labels[j].name == l.name)
        refuse(name, "label " + l.name + " twice");
    if (l.values.empty())
      refuse(name, "label " + l.name + " has no values");
    for (std::size_t a = 0; a < l.values.size(); ++a)
      for (std::size_t b = 0; b < a; ++b)
        if (l.values[a] == l.values[b])
          refuse(name, "label " + l.name + ": value \"" + l.values[a]
                         + "\" twice");
    cells *= l.values.size();
    if (cells > 10000)
      refuse(name, "more than 10000 series");
  }
  auto e = std::make_unique<entry>();
  e->name = name;
  e->help = help;
  e->type = k;
  e->shown = shown;
  e->label_text.assign(cells, std::string{});
  for (std::size_t c = 0; c < cells; ++c) {
    // Mixed radix, last label fastest (as family::index computes it).
    std::vector<std::size_t> idx(labels.size());
    std::size_t rest = c;
    for (std::size_t i = labels.size(); i-- > 0;) {
      idx[i] = rest % labels[i].values.size();
      rest /= labels[i].values.size();
    }
    std::string& t = e->label_text[c];
    for (std::size_t i = 0; i < labels.size(); ++i) {
      if (i)
        t += ',';
      t += labels[i].name;
      t += "=\"";
      t += escape_label_value(labels[i].values[idx[i]]);
      t += '"';
    }
  }
  return e;
}

void registry::publish(std::unique_ptr<entry> e) {
  // Only complete entries (family and cells built) are published: a scrape
  // running meanwhile sees the family whole or not at all.
  std::lock_guard<std::mutex> guard{mutex_};
  for (const auto& other : entries_)
    if (other->name == e->name)
      refuse(e->name, "declared twice");
  entries_.push_back(std::move(e));
}

namespace {

/// Adds each label's fallback to its values when it is not one of them.
std::vector<label> with_fallbacks(std::vector<label> labels) {
  for (auto& l : labels)
    if (!l.fallback.empty()
        && std::find(l.values.begin(), l.values.end(), l.fallback)
             == l.values.end())
      l.values.push_back(l.fallback);
  return labels;
}

void check_bounds(const std::string& name, const std::vector<double>& b) {
  for (std::size_t i = 0; i < b.size(); ++i) {
    if (!std::isfinite(b[i]))
      refuse(name, "bucket bounds must be finite (+Inf is implied)");
    if (i > 0 && !(b[i] > b[i - 1]))
      refuse(name, "bucket bounds must increase");
  }
}

} // namespace

family<counter>& registry::add_counter(const std::string& name,
                                       const std::string& help,
                                       std::vector<label> labels, show shown) {
  labels = with_fallbacks(std::move(labels));
  auto e = declare(name, help, kind::counter, labels, shown);
  auto& f = *(e->counters = std::unique_ptr<family<counter>>(
                new family<counter>(std::move(labels))));
  publish(std::move(e));
  return f;
}

family<gauge>& registry::add_gauge(const std::string& name,
                                   const std::string& help,
                                   std::vector<label> labels) {
  labels = with_fallbacks(std::move(labels));
  auto e = declare(name, help, kind::gauge, labels, show::all);
  auto& f = *(e->gauges = std::unique_ptr<family<gauge>>(
                new family<gauge>(std::move(labels))));
  publish(std::move(e));
  return f;
}

family<histogram>& registry::add_histogram(const std::string& name,
                                           const std::string& help,
                                           std::vector<double> bounds,
                                           std::vector<label> labels,
                                           show shown) {
  check_bounds(name, bounds);
  labels = with_fallbacks(std::move(labels));
  auto e = declare(name, help, kind::histogram, labels, shown);
  e->bounds = std::move(bounds);
  auto& f = *(e->histograms = std::unique_ptr<family<histogram>>(
                new family<histogram>(std::move(labels), e->bounds)));
  publish(std::move(e));
  return f;
}

counter& registry::add_counter(const std::string& name,
                               const std::string& help) {
  return add_counter(name, help, {}).at(0);
}

gauge& registry::add_gauge(const std::string& name, const std::string& help) {
  return add_gauge(name, help, std::vector<label>{}).at(0);
}

histogram& registry::add_histogram(const std::string& name,
                                   const std::string& help,
                                   std::vector<double> bounds) {
  return add_histogram(name, help, std::move(bounds), {}).at(0);
}

void registry::add_process_metrics() {
  std::lock_guard<std::mutex> guard{mutex_};
  process_ = true;
}

std::string registry::render() const {
  std::string out;
  render(out);
  return out;
}

namespace {

void header(std::string& out, std::string_view name, std::string_view help,
            std::string_view type) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += escape_help(help);
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

/// `name{labels} ` (no braces without labels).
void sample_start(std::string& out, std::string_view name,
                  std::string_view labels, std::string_view suffix = {}) {
  out += name;
  out += suffix;
  if (!labels.empty()) {
    out += '{';
    out += labels;
    out += '}';
  }
  out += ' ';
}

void render_process(std::string& out) {
  auto p = read_process_stats();
  if (!p.ok)
    return; // not Linux, or /proc hidden: better absent than wrong
  auto one = [&](const char* name, const char* help, const char* type,
                 double v) {
    header(out, name, help, type);
    out += name;
    out += ' ';
    append_double(out, v);
    out += '\n';
  };
  one("process_cpu_seconds_total", "Total user and system CPU time spent in "
      "seconds.", "counter", p.cpu_seconds);
  one("process_open_fds", "Number of open file descriptors.", "gauge",
      p.open_fds);
  one("process_max_fds", "Maximum number of open file descriptors.", "gauge",
      p.max_fds);
  one("process_virtual_memory_bytes", "Virtual memory size in bytes.",
      "gauge", p.virtual_memory_bytes);
  one("process_resident_memory_bytes", "Resident memory size in bytes.",
      "gauge", p.resident_memory_bytes);
  one("process_start_time_seconds", "Start time of the process since unix "
      "epoch in seconds.", "gauge", p.start_time_seconds);
}

} // namespace

void registry::render(std::string& out) const {
  std::lock_guard<std::mutex> guard{mutex_};
  for (const auto& ep : entries_) {
    const auto& e = *ep;
    header(out, e.name, e.help, type_word(e.type));
    const auto cells = e.label_text.size();
    for (std::size_t c = 0; c < cells; ++c) {
      const auto& lt = e.label_text[c];
      if (e.counters) {
        auto v = e.counters->at(c).value();
        if (v == 0 && e.shown == show::used)
          continue;
        sample_start(out, e.name, lt);
        append_int(out, v);
        out += '\n';
      } else if (e.gauges) {
        sample_start(out, e.name, lt);
        append_int(out, e.gauges->at(c).value());
        out += '\n';
      } else {
        auto s = e.histograms->at(c).read();
        if (s.count == 0 && e.shown == show::used)
          continue;
        std::string le = lt.empty() ? std::string{} : lt + ",";
        for (std::size_t b = 0; b < s.cumulative.size(); ++b) {
          out += e.name;
          out += "_bucket{";
          out += le;
          out += "le=\"";
          if (b < e.bounds.size())
            append_double(out, e.bounds[b]);
          else
            out += "+Inf";
          out += "\"} ";
          append_int(out, s.cumulative[b]);
          out += '\n';
        }
        sample_start(out, e.name, lt, "_sum");
        append_double(out, s.sum);
        out += '\n';
        sample_start(out, e.name, lt, "_count");
        append_int(out, s.count);
        out += '\n';
      }
    }
  }
  if (process_)
    render_process(out);
}

// --- escaping ----------------------------------------------------------------

std::string escape_label_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string escape_help(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

// --- process metrics -----------------------------------------------------------

namespace {

double seconds_of(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) + ts.tv_nsec / 1e9;
}

} // namespace

process_stats read_process_stats() {
  process_stats p;
  std::ifstream in("/proc/self/stat");
  std::string stat;
  if (!std::getline(in, stat))
    return p;
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so
  // the fields are counted from the last ')'. Field 3 (state) is token 0.
  auto close = stat.rfind(')');
  if (close == std::string::npos)
    return p;
  std::istringstream fields(stat.substr(close + 1));
  std::vector<std::string> tok{std::istream_iterator<std::string>{fields},
                               std::istream_iterator<std::string>{}};
  if (tok.size() < 22)
    return p;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  double start_ticks = std::strtod(tok[19].c_str(), nullptr); // field 22
  p.virtual_memory_bytes = std::strtod(tok[20].c_str(), nullptr); // 23
  p.resident_memory_bytes = std::strtod(tok[21].c_str(), nullptr) * page;

  // getrusage has microseconds where /proc has clock ticks.
  rusage ru{};
  if (getrusage(RUSAGE_SELF, &ru) == 0)
    p.cpu_seconds = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec)
                    + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;

  // Start time = now - the process's age. The age comes from the boot
  // clock (what /proc's starttime counts in), so /proc/stat's btime is not
  // needed: it is hidden under systemd's ProcSubset=pid. Computed once, so
  // the value does not wobble from scrape to scrape.
  static const double start_time = seconds_of(CLOCK_REALTIME)
                                   - (seconds_of(CLOCK_BOOTTIME)
                                      - start_ticks / ticks);
  p.start_time_seconds = start_time;

  if (DIR* d = opendir("/proc/self/fd")) {
    int n = 0;
    while (dirent* ent = readdir(d))
      if (ent->d_name[0] != '.')
        ++n;
    closedir(d);
    p.open_fds = n - 1; // not the descriptor that listed them
  }
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0)
    p.max_fds = lim.rlim_cur == RLIM_INFINITY
                  ? std::numeric_limits<double>::infinity()
                  : static_cast<double>(lim.rlim_cur);
  p.ok = true;
  return p;
}

// --- the node's families -------------------------------------------------------

namespace bounds {
std::vector<double> http_seconds() {
  return {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
          0.025,   0.05,   0.1,     0.25,   0.5,   1,      2.5,    5,     10};
}
std::vector<double> consensus_seconds() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
          0.5,   1,      2.5,   5,    7.5,   10,   30,  60};
}
std::vector<double> reorg_blocks() {
  return {1, 2, 3, 5, 10, 20, 50, 100, 1000, 10000, 100000};
}
std::vector<double> commit_seconds() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
          0.1,    0.25,  0.5,    1,     2.5,  5,     10};
}
std::vector<double> commit_changes() {
  return {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 50000};
}
} // namespace bounds

namespace {

const std::vector<std::string>& http_methods() {
  static const std::vector<std::string> m{"GET",    "HEAD",  "POST", "PUT",
                                          "DELETE", "PATCH", "OPTIONS"};
  return m;
}

// Every status the node answers with today or is planned to (403 for
// foreign origins, 429/503 for full queues); anything else is "other".
const std::vector<std::string>& http_codes() {
  static const std::vector<std::string> c{
    "200", "201", "204", "304", "400", "403", "404", "405", "408",
    "413", "414", "429", "431", "500", "501", "503", "505"};
  return c;
}

} // namespace

node_metrics declare_node_metrics(registry& r, const std::string& version,
                                  const std::vector<std::string>& routes) {
  r.add_gauge("dlt_build_info",
              "Always 1; the version label names the running dlt-node.",
              {{"version", {version}, {}}})
    .at(0)
    .set(1);
  label route{"route", routes, "unknown"};
  node_metrics m{
    r.add_gauge("dlt_chain_height", "Blocks in this node's chain, the "
                "genesis block included (as GET /chain's length)."),
    r.add_gauge("dlt_mempool_transactions",
                "Transactions waiting to be mined."),
    r.add_gauge("dlt_peers", "Registered peers, by kind (http: reference "
                "protocol, native: caf:// links).",
                {{"kind", {"http", "native"}, {}}}),
    r.add_gauge("dlt_native_peers_linked",
                "Native (caf://) peers currently linked."),
    r.add_gauge("dlt_http_connections", "Open HTTP client connections."),
    r.add_gauge("dlt_event_streams", "Open GET /events streams."),
    r.add_counter("dlt_transactions_received_total",
                  "Transactions accepted by POST /transactions/new."),
    r.add_counter("dlt_blocks_mined_total", "Blocks this node mined."),
    r.add_counter("dlt_blocks_received_total", "Blocks taken from peers, by "
                  "how they came (consensus: an adopted chain's new blocks; "
                  "gossip: announced blocks appended).",
                  {{"via", {"consensus", "gossip"}, {}}}),
    r.add_counter("dlt_chain_reorgs_total", "Adopted chains that dropped at "
                  "least one block this node held."),
    r.add_counter("dlt_chain_pops_total",
                  "Blocks removed by POST /action/evil (not reorgs)."),
    r.add_counter("dlt_consensus_rounds_total", "Consensus rounds, by "
                  "outcome (replaced: a longer chain was adopted).",
                  {{"outcome", {"replaced", "kept"}, {}}}),
    r.add_counter("dlt_consensus_rounds_at_deadline_total",
                  "Consensus rounds that ended at the peer deadline with at "
                  "least one peer still unanswered."),
    r.add_counter("dlt_peer_fetches_total", "Fetches from peers during "
                  "consensus, by result.",
                  {{"result",
                    {"ok", "timeout", "unreachable", "http_error",
                     "too_large", "invalid"},
                    "other"}}),
    r.add_counter("dlt_http_requests_total", "HTTP requests answered, by "
                  "route (the route table's name, or unknown), method and "
                  "status code.",
                  {route,
                   {"method", http_methods(), "other"},
                   {"code", http_codes(), "other"}},
                  show::used),
    r.add_histogram("dlt_chain_reorg_depth_blocks",
                    "Blocks dropped by each reorg.", bounds::reorg_blocks()),
    r.add_histogram("dlt_consensus_round_duration_seconds",
                    "Duration of consensus rounds.",
                    bounds::consensus_seconds()),
    r.add_histogram("dlt_http_request_duration_seconds", "Time from a "
                    "complete request to its answer, by route.",
                    bounds::http_seconds(), {route}, show::used),
    r.add_histogram("dlt_storage_commit_duration_seconds", "Duration of "
                    "group commits to the ledger (one SQLite transaction "
                    "and one sync).",
                    bounds::commit_seconds()),
    r.add_histogram("dlt_storage_commit_changes",
                    "Changes stored per group commit.",
                    bounds::commit_changes()),
  };
  r.add_process_metrics();
  return m;
}

void node_metrics::http_request(std::string_view route,
                                std::string_view method, unsigned status,
                                double seconds) {
  char code[12];
  auto end = std::to_chars(code, code + sizeof code, status).ptr;
  http_requests.labels({route, method, std::string_view(code, end - code)})
    .inc();
  http_request_duration.labels({route}).observe(seconds);
}

} // namespace dlt::metrics
