// dlt-testnet-link: delays every packet an NFQUEUE hands it by
// latency +- jitter, then lets it go. It is the testnet's stand-in for
// `tc qdisc netem delay` on kernels built without sch_netem.
//
//   dlt-testnet-link --queue 0 --latency-ms 50 --jitter-ms 10 [--stats FILE]
//
// dlt-testnet runs it in the switch namespace, where an iptables rule
// (`-A FORWARD -j NFQUEUE --queue-num 0`, reached by bridged IPv4 through
// br_netfilter) queues every packet crossing the bridge: each packet between
// two nodes crosses it once per direction, so it is delayed once one way and a
// round trip takes about twice the latency. Only the first 20 bytes of each
// packet (its IPv4 header) are copied to us; the packet itself waits in the
// kernel until we give the verdict, which NFQUEUE allows in any order.
//
// Delays are drawn uniformly from [latency - jitter, latency + jitter] (what
// netem does without a distribution table), or from a normal distribution
// (sigma = jitter) with --distribution normal. By default packets of one
// direction of one pair of hosts leave in the order they came (a real path
// seldom reorders; heavy reordering makes TCP retransmit needlessly): a packet
// never leaves before the one that came before it on the same pair, so its
// delay stays within the range but may be a little longer than drawn.
// --reorder lets each packet go at its own time, as netem does.
//
// --priority N runs it under SCHED_FIFO at priority N: on a machine busy
// with hundreds of nodes a normal thread may wake late, and every late wake
// adds to every packet's delay (release_late_* in the statistics).
//
// Statistics go to --stats FILE as one JSON object on SIGUSR1 and at exit.
// SIGTERM/SIGINT: every held packet is released at once, then we exit 0.

#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <queue>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

extern "C" {
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <libnfnetlink/libnfnetlink.h>
}

namespace {

const char* usage =
  "usage: dlt-testnet-link --latency-ms L [--jitter-ms J] [--queue N]\n"
  "                        [--distribution uniform|normal] [--reorder]\n"
  "                        [--seed S] [--max-held N] [--stats FILE]\n"
  "                        [--priority N]\n"
  "Delays every packet of NFQUEUE N (default 0) by L +- J milliseconds.\n"
  "Run it where the NFQUEUE rule is (dlt-testnet does this for you).\n";

struct options {
  int queue = 0;
  double latency_ms = -1;
  double jitter_ms = 0;
  bool normal = false;
  bool reorder = false;
  std::uint64_t seed = 0;
  std::uint32_t max_held = 1u << 20;
  std::string stats_file;
  int priority = 0; // SCHED_FIFO priority; 0: normal scheduling
};

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "dlt-testnet-link: %s\n%s", why.c_str(), usage);
  std::exit(2);
}

double to_number(const char* text, const char* option) {
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(text, &end);
  if (errno != 0 || end == text || *end != '\0' || !std::isfinite(v) || v < 0)
    die(std::string{option} + " needs a non-negative number, not '" + text + "'");
  return v;
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    auto eq = arg.find('=');
    bool has_value = eq != std::string::npos;
    if (has_value) {
      value = arg.substr(eq + 1);
      arg.resize(eq);
    }
    auto next = [&]() -> const char* {
      if (has_value)
        return value.c_str();
      if (i + 1 >= argc)
        die("option " + arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--help" || arg == "-h") {
      std::fputs(usage, stdout);
      std::exit(0);
    } else if (arg == "--queue") {
      o.queue = static_cast<int>(to_number(next(), "--queue"));
    } else if (arg == "--latency-ms") {
      o.latency_ms = to_number(next(), "--latency-ms");
    } else if (arg == "--jitter-ms") {
      o.jitter_ms = to_number(next(), "--jitter-ms");
    } else if (arg == "--distribution") {
      std::string d = next();
      if (d != "uniform" && d != "normal")
        die("--distribution is uniform or normal");
      o.normal = d == "normal";
    } else if (arg == "--reorder") {
      o.reorder = true;
    } else if (arg == "--seed") {
      o.seed = static_cast<std::uint64_t>(to_number(next(), "--seed"));
    } else if (arg == "--max-held") {
      o.max_held = static_cast<std::uint32_t>(to_number(next(), "--max-held"));
    } else if (arg == "--stats") {
      o.stats_file = next();
    } else if (arg == "--priority") {
      o.priority = static_cast<int>(to_number(next(), "--priority"));
      if (o.priority > 99)
        die("--priority is 1..99 (SCHED_FIFO)");
    } else {
      die("unknown option '" + arg + "'");
    }
  }
  if (o.latency_ms < 0)
    die("--latency-ms is required");
  if (o.jitter_ms > o.latency_ms)
    die("--jitter-ms must not exceed --latency-ms");
  return o;
}

std::int64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

/// A packet the kernel holds for us, and when to let it go.
struct held {
  std::int64_t release_ns;
  std::uint64_t seq; // arrival order: equal release times leave in order
  std::uint32_t id;
  bool operator>(const held& o) const {
    return release_ns != o.release_ns ? release_ns > o.release_ns : seq > o.seq;
  }
};

struct stats {
  std::uint64_t packets = 0;
  std::uint64_t released = 0;
  std::uint64_t verdict_errors = 0;
  std::uint64_t receive_overflows = 0; // ENOBUFS: the kernel dropped packets
  std::uint64_t over_max_held = 0;     // let through undelayed (queue full)
  std::uint64_t not_ipv4 = 0;
  std::size_t max_held = 0;
  double delay_sum_ms = 0; // applied (release - arrival)
  double delay_min_ms = 1e18;
  double delay_max_ms = 0;
  double late_sum_ms = 0; // how late we released (scheduling)
  double late_max_ms = 0;
};

volatile sig_atomic_t g_stop = 0;
volatile sig_atomic_t g_dump = 0;

void on_stop(int) {
  g_stop = 1;
}

void on_dump(int) {
  g_dump = 1;
}

class delayer {
public:
  explicit delayer(const options& o)
    : opt_(o), rng_(o.seed ? o.seed : std::random_device{}()) {
  }

  ~delayer() {
    if (qh_)
      nfq_destroy_queue(qh_);
    if (h_)
      nfq_close(h_);
  }

  void set_priority() {
    if (opt_.priority <= 0)
      return;
    sched_param p{};
    p.sched_priority = opt_.priority;
    if (sched_setscheduler(0, SCHED_FIFO, &p) == 0)
      realtime_ = true;
    else
      std::fprintf(stderr, "dlt-testnet-link: no SCHED_FIFO (%s); running "
                   "with normal priority\n", std::strerror(errno));
  }

  void open() {
    h_ = nfq_open();
    if (!h_)
      fail("cannot open a netfilter queue handle (are we root?)");
    // Harmless if nothing was bound; needed on old kernels.
    nfq_unbind_pf(h_, AF_INET);
    if (nfq_bind_pf(h_, AF_INET) < 0)
      fail("cannot bind to AF_INET");
    qh_ = nfq_create_queue(h_, static_cast<std::uint16_t>(opt_.queue),
                           &delayer::on_packet, this);
    if (!qh_)
      fail("cannot take queue " + std::to_string(opt_.queue)
           + " (is another program bound to it?)");
    // The IPv4 header is all we read: addresses keep each pair in order.
    if (nfq_set_mode(qh_, NFQNL_COPY_PACKET, 20) < 0)
      fail("cannot set the copy mode");
    // In flight = packets per second x delay; the kernel's default of 1024
    // held packets drops traffic beyond a few thousand packets per second.
    nfq_set_queue_maxlen(qh_, opt_.max_held);
    // Large (GSO) packets stay whole: they are delayed as one, as on a wire
    // that carries them back to back.
    nfq_set_queue_flags(qh_, NFQA_CFG_F_GSO, NFQA_CFG_F_GSO);
    nfnl_rcvbufsiz(nfq_nfnlh(h_), 64u << 20);
    fd_ = nfq_fd(h_);
    int one = 1;
    setsockopt(fd_, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof one);
  }

  int run() {
    std::vector<char> buf(1 << 17);
    std::printf("dlt-testnet-link: delaying queue %d by %.3f +- %.3f ms (%s%s%s)\n",
                opt_.queue, opt_.latency_ms, opt_.jitter_ms,
                opt_.normal ? "normal" : "uniform",
                opt_.reorder ? ", may reorder" : ", in order per pair",
                realtime_ ? ", SCHED_FIFO" : "");
    std::fflush(stdout);
    while (!g_stop) {
      if (g_dump) {
        g_dump = 0;
        write_stats();
      }
      release_due(now_ns());
      timespec timeout{0, 200000000}; // wake for signals at least 5x a second
      if (!heap_.empty()) {
        auto wait = std::max<std::int64_t>(0, heap_.top().release_ns - now_ns());
        if (wait < 200000000)
          timeout = {0, static_cast<long>(wait)};
      }
      pollfd p{fd_, POLLIN, 0};
      int n = ppoll(&p, 1, &timeout, nullptr);
      if (n < 0 && errno != EINTR)
        fail(std::string{"poll: "} + std::strerror(errno));
      if (n > 0)
        drain(buf);
    }
    // Let everything go at once: nothing stays stuck in the kernel.
    release_due(INT64_MAX);
    write_stats();
    return 0;
  }

private:
  void drain(std::vector<char>& buf) {
    for (int rounds = 0; rounds < 4096; ++rounds) {
      ssize_t got = recv(fd_, buf.data(), buf.size(), MSG_DONTWAIT);
      if (got < 0) {
        if (errno == ENOBUFS) {
          ++stats_.receive_overflows;
          continue;
        }
        return; // EAGAIN or EINTR
      }
      nfq_handle_packet(h_, buf.data(), static_cast<int>(got));
    }
  }

  static int on_packet(nfq_q_handle*, nfgenmsg*, nfq_data* nfa, void* self) {
    static_cast<delayer*>(self)->take(nfa);
    return 0;
  }

  double draw_delay_ms() {
    if (opt_.jitter_ms <= 0)
      return opt_.latency_ms;
    double d;
    if (opt_.normal) {
      std::normal_distribution<double> dist(opt_.latency_ms, opt_.jitter_ms);
      d = dist(rng_);
    } else {
      std::uniform_real_distribution<double> dist(opt_.latency_ms - opt_.jitter_ms,
                                                  opt_.latency_ms + opt_.jitter_ms);
      d = dist(rng_);
    }
    return std::max(0.0, d);
  }

  void take(nfq_data* nfa) {
    auto* hdr = nfq_get_msg_packet_hdr(nfa);
    if (!hdr)
      return;
    std::uint32_t id = ntohl(hdr->packet_id);
    auto arrived = now_ns();
    ++stats_.packets;
    if (heap_.size() >= opt_.max_held) {
      ++stats_.over_max_held;
      verdict(id);
      return;
    }
    auto release = arrived + static_cast<std::int64_t>(draw_delay_ms() * 1e6);
    unsigned char* data = nullptr;
    int len = nfq_get_payload(nfa, &data);
    if (!opt_.reorder) {
      if (len >= 20 && (data[0] >> 4) == 4) {
        std::uint32_t src, dst;
        std::memcpy(&src, data + 12, 4);
        std::memcpy(&dst, data + 16, 4);
        auto& last = last_release_[(std::uint64_t{src} << 32) | dst];
        release = std::max(release, last);
        last = release;
      } else {
        ++stats_.not_ipv4;
      }
    }
    double applied = (release - arrived) / 1e6;
    stats_.delay_sum_ms += applied;
    stats_.delay_min_ms = std::min(stats_.delay_min_ms, applied);
    stats_.delay_max_ms = std::max(stats_.delay_max_ms, applied);
    heap_.push(held{release, seq_++, id});
    stats_.max_held = std::max(stats_.max_held, heap_.size());
  }

  void release_due(std::int64_t now) {
    while (!heap_.empty() && heap_.top().release_ns <= now) {
      auto p = heap_.top();
      heap_.pop();
      if (now != INT64_MAX) {
        double late = (now - p.release_ns) / 1e6;
        stats_.late_sum_ms += late;
        stats_.late_max_ms = std::max(stats_.late_max_ms, late);
      }
      verdict(p.id);
      ++stats_.released;
    }
  }

  void verdict(std::uint32_t id) {
    if (nfq_set_verdict(qh_, id, NF_ACCEPT, 0, nullptr) < 0)
      ++stats_.verdict_errors;
  }

  void write_stats() {
    if (opt_.stats_file.empty())
      return;
    auto tmp = opt_.stats_file + ".tmp";
    FILE* f = std::fopen(tmp.c_str(), "w");
    if (!f)
      return;
    auto n = static_cast<double>(std::max<std::uint64_t>(1, stats_.packets));
    auto r = static_cast<double>(std::max<std::uint64_t>(1, stats_.released));
    std::fprintf(
      f,
      "{\"queue\": %d, \"latency_ms\": %.3f, \"jitter_ms\": %.3f, "
      "\"distribution\": \"%s\", \"in_order_per_pair\": %s, "
      "\"packets\": %llu, \"released\": %llu, \"held_now\": %zu, "
      "\"max_held\": %zu, \"delay_mean_ms\": %.3f, \"delay_min_ms\": %.3f, "
      "\"delay_max_ms\": %.3f, \"release_late_mean_ms\": %.4f, "
      "\"release_late_max_ms\": %.3f, \"receive_overflows\": %llu, "
      "\"verdict_errors\": %llu, \"over_max_held\": %llu, \"not_ipv4\": %llu, "
      "\"realtime\": %s}\n",
      opt_.queue, opt_.latency_ms, opt_.jitter_ms,
      opt_.normal ? "normal" : "uniform", opt_.reorder ? "false" : "true",
      static_cast<unsigned long long>(stats_.packets),
      static_cast<unsigned long long>(stats_.released), heap_.size(),
      stats_.max_held, stats_.delay_sum_ms / n,
      stats_.packets ? stats_.delay_min_ms : 0.0, stats_.delay_max_ms,
      stats_.late_sum_ms / r, stats_.late_max_ms,
      static_cast<unsigned long long>(stats_.receive_overflows),
      static_cast<unsigned long long>(stats_.verdict_errors),
      static_cast<unsigned long long>(stats_.over_max_held),
      static_cast<unsigned long long>(stats_.not_ipv4),
      realtime_ ? "true" : "false");
    std::fclose(f);
    std::rename(tmp.c_str(), opt_.stats_file.c_str());
  }

  [[noreturn]] void fail(const std::string& why) {
    std::fprintf(stderr, "dlt-testnet-link: %s\n", why.c_str());
    std::exit(1);
  }

  options opt_;
  std::mt19937_64 rng_;
  nfq_handle* h_ = nullptr;
  nfq_q_handle* qh_ = nullptr;
  int fd_ = -1;
  bool realtime_ = false;
  std::uint64_t seq_ = 0;
  std::priority_queue<held, std::vector<held>, std::greater<held>> heap_;
  std::unordered_map<std::uint64_t, std::int64_t> last_release_;
  stats stats_;
};

} // namespace

int main(int argc, char** argv) {
  auto opt = parse(argc, argv);
  // Timer slack would add up to 50 us to every release.
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  struct sigaction sa {};
  sa.sa_handler = on_stop;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGHUP, &sa, nullptr);
  sa.sa_handler = on_dump;
  sigaction(SIGUSR1, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
  delayer d{opt};
  d.set_priority();
  d.open();
  return d.run();
}
