#include "config/options.hpp"

#include <algorithm>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <sstream>

namespace dlt {
namespace {

struct setting {
  const char* help;
  std::function<std::string(node_options&, const std::string&)> apply;
};

// Parses a whole decimal number in [min, max]; an error text otherwise.
std::string parse_number(const std::string& text, std::uint64_t min,
                         std::uint64_t max, std::uint64_t& out) {
  if (text.empty() || text.size() > 20
      || text.find_first_not_of("0123456789") != std::string::npos)
    return "expects a whole number, got \"" + text + "\"";
  unsigned long long v = 0;
  try {
    v = std::stoull(text);
  } catch (const std::exception&) {
    return "is out of range: " + text;
  }
  if (v < min || v > max)
    return "must be between " + std::to_string(min) + " and "
           + std::to_string(max) + ", got " + text;
  out = v;
  return {};
}

// "true"/"false" (and 1/0, yes/no) into a switch.
setting flag(const char* help, bool node_options::*field) {
  return {help, [=](node_options& o, const std::string& v) {
            if (v == "true" || v == "1" || v == "yes")
              o.*field = true;
            else if (v == "false" || v == "0" || v == "no")
              o.*field = false;
            else
              return "expects true or false, got \"" + v + "\"";
            return std::string{};
          }};
}

/// Switches: "--key" alone means true.
bool is_switch(const std::string& key) {
  return key == "requeue-orphans" || key == "ephemeral" || key == "metrics"
         || key == "python-json" || key == "caf-insecure";
}

// A TCP port, 0 to 65535, into a field of any integer type.
template <class T>
setting port_number(const char* help, T node_options::*field) {
  return {help, [=](node_options& o, const std::string& v) {
            std::uint64_t p = 0;
            auto err = parse_number(v, 0, 65535, p);
            if (err.empty())
              o.*field = static_cast<T>(p);
            return err;
          }};
}

// A non-empty text value.
setting text(const char* help, std::string node_options::*field,
             const char* expects) {
  return {help, [=](node_options& o, const std::string& v) {
            if (v.empty())
              return std::string{expects};
            o.*field = v;
            return std::string{};
          }};
}

setting number(const char* help, std::uint64_t node_options::*field,
               std::uint64_t min, std::uint64_t max) {
  return {help, [=](node_options& o, const std::string& v) {
            return parse_number(v, min, max, o.*field);
          }};
}

const std::map<std::string, setting>& settings() {
  constexpr auto max64 = std::numeric_limits<std::uint64_t>::max();
  static const std::map<std::string, setting> table = {
    {"port",
     port_number("TCP port of the REST API (0: any free port) [8081]",
                 &node_options::port)},
    {"host",
     text("address to listen on [127.0.0.1]", &node_options::host,
          "expects an address")},
    {"peer-timeout-ms",
     number("deadline for each peer's GET /chain in consensus [5000]",
            &node_options::peer_timeout_ms, 1, 3600000)},
    {"max-body-bytes",
     number("largest request body accepted, 413 above [1048576]",
            &node_options::max_body_bytes, 1, 1ull << 32)},
    {"max-header-bytes",
     number("largest request header block, 431 above [16384]",
            &node_options::max_header_bytes, 512, 1 << 20)},
    {"read-timeout-ms",
     number("time to receive a whole request once begun [10000]",
            &node_options::read_timeout_ms, 1, 3600000)},
    {"idle-timeout-ms",
     number("time a keep-alive connection waits for a request [30000]",
            &node_options::idle_timeout_ms, 1, 3600000)},
    {"write-timeout-ms",
     number("time to write one response [60000]",
            &node_options::write_timeout_ms, 1, 3600000)},
    {"max-connections",
     number("open client connections; the oldest waiting one is closed at "
            "the limit [4096]",
            &node_options::max_connections, 1, 1000000)},
    {"max-peer-response-bytes",
     number("largest GET /chain answer taken from a peer [268435456]",
            &node_options::max_peer_response_bytes, 1024, max64)},
    {"requeue-orphans",
     flag("on adopting a longer chain, return the transactions of our "
          "dropped blocks to the mempool (the reference drops them) [false]",
          &node_options::requeue_orphans)},
    {"data-dir",
     text("where the chain, pending transactions and peers are stored "
          "[data/node-PORT]",
          &node_options::data_dir, "expects a directory")},
    {"caf-port",
     port_number("publish the node for native linking (caf://HOST:PORT) on "
                 "this port; 0: any free port [not published]",
                 &node_options::caf_port)},
    {"max-native-message-bytes",
     number("largest frame a native peer may send (answers to our blocks "
            "requests; more than the largest block) [67108864]",
            &node_options::max_native_message_bytes, 17ull << 20,
            (1ull << 32) - 1)},
    {"max-native-connections",
     number("native connections at once, inbound and outbound; beyond, new "
            "ones are closed at once [256]",
            &node_options::max_native_connections, 1, 100000)},
    {"caf-tls-cert",
     text("mutual TLS for native links: this node's certificate (PEM, chain) "
          "[none]",
          &node_options::caf_tls_cert, "expects a file")},
    {"caf-tls-key",
     text("mutual TLS: the certificate's private key (PEM) [none]",
          &node_options::caf_tls_key, "expects a file")},
    {"caf-tls-ca",
     text("mutual TLS: the CA peers' certificates must chain to (PEM) [none]",
          &node_options::caf_tls_ca, "expects a file")},
    {"caf-insecure",
     flag("publish native links without TLS on a non-loopback address "
          "(anyone who reaches the port can link) [false]",
          &node_options::caf_insecure)},
    {"gossip",
     {"off, or push: announce every block this node mines or adopts to its "
      "native peers [off]",
      [](node_options& o, const std::string& v) {
        if (v != "off" && v != "push")
          return "expects off or push, got \"" + v + "\"";
        o.gossip = v;
        return std::string{};
      }}},
    {"sync-interval",
     number("seconds between consensus rounds run unasked, 0 = never [0]",
            &node_options::sync_interval, 0, 86400)},
    {"ephemeral",
     flag("keep everything in memory only; nothing survives a restart "
          "(--data-dir is then unused) [false]",
          &node_options::ephemeral)},
    {"max-pending",
     number("pending transactions held at most; beyond, 503 [50000]",
            &node_options::max_pending, 1, 100000000)},
    {"max-pending-bytes",
     number("canonical bytes of pending transactions held at most [67108864]",
            &node_options::max_pending_bytes, 1024, max64)},
    {"max-block-transactions",
     number("transactions one mined block takes at most [10000]",
            &node_options::max_block_transactions, 1, 100000000)},
    {"max-block-bytes",
     number("bytes one mined block holds at most; a larger transaction "
            "is refused (413) [4194304]",
            &node_options::max_block_bytes, 4096, 1ull << 30)},
    {"max-peers",
     number("registered peers at most; the peer failing longest makes room "
            "[1024]",
            &node_options::max_peers, 1, 100000)},
    {"peer-max-failures",
     number("consecutive failed consensus rounds after which a peer (failing "
            "for peer-failing-for-s) is evicted [10]",
            &node_options::peer_max_failures, 1, 1000000)},
    {"peer-failing-for-s",
     number("seconds a peer must keep failing before it is evicted [300]",
            &node_options::peer_failing_for_s, 0, 100000000)},
    {"python-json",
     flag("accept in POST /transactions/new the values only Python's json "
          "writes: integers beyond 64 bits, NaN, Infinity, lone surrogates "
          "(blocks from peers carry them always) [false]",
          &node_options::python_json)},
    {"max-peer-bytes-in-flight",
     number("bytes of peers' chain answers held at once, all rounds and "
            "peers together; a fetch beyond it is dropped (0: "
            "max-peer-response-bytes) [0]",
            &node_options::max_peer_bytes_in_flight, 0, max64)},
    {"metrics",
     flag("serve Prometheus metrics at GET /metrics [true]",
          &node_options::metrics)},
    {"max-event-streams",
     number("open GET /events streams at most [256]",
            &node_options::max_event_streams, 0, 100000)},
    {"allow-origin",
     {"an origin (scheme://host:port) whose pages may POST to this node "
      "besides its own; repeatable [none]",
      [](node_options& o, const std::string& v) {
        if (v.empty() || v.find("://") == std::string::npos)
          return "expects an origin such as http://localhost:3000, got \"" + v
                 + "\"";
        o.allow_origins.push_back(v);
        return std::string{};
      }}},
    {"scheduler",
     {"how actors are scheduled: sharing (one queue; idle threads sleep) or "
      "stealing (work stealing; idle threads poll) [sharing]",
      [](node_options& o, const std::string& v) {
        if (v != "stealing" && v != "sharing")
          return "expects stealing or sharing, got \"" + v + "\"";
        o.scheduler = v;
        return std::string{};
      }}},
    {"http-threads",
     number("threads serving HTTP, 0 = one per core [0]",
            &node_options::http_threads, 0, 256)},
    {"actor-threads",
     number("threads running actors, 0 = half the cores, at least 1 [0]",
            &node_options::actor_threads, 0, 256)},
  };
  return table;
}

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos)
    return {};
  auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

std::string apply(node_options& o, const std::string& key,
                  const std::string& value, const std::string& where) {
  auto it = settings().find(key);
  if (it == settings().end())
    return where + "unknown option '" + key + "'";
  if (auto err = it->second.apply(o, value); !err.empty())
    return where + "option '" + key + "' " + err;
  return {};
}

std::string load_file(node_options& o, const std::string& path) {
  std::ifstream in(path);
  if (!in)
    return "cannot read config file '" + path + "'";
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (auto hash = line.find('#'); hash != std::string::npos)
      line.erase(hash);
    line = trim(line);
    if (line.empty())
      continue;
    auto where = path + ":" + std::to_string(n) + ": ";
    auto eq = line.find('=');
    if (eq == std::string::npos)
      return where + "expected 'key = value', got '" + line + "'";
    if (auto err = apply(o, trim(line.substr(0, eq)),
                         trim(line.substr(eq + 1)), where);
        !err.empty())
      return err;
  }
  return {};
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

/// Combinations no single option can refuse.
std::string check_together(const node_options& o) {
  int tls = !o.caf_tls_cert.empty() + !o.caf_tls_key.empty()
            + !o.caf_tls_ca.empty();
  if (tls != 0 && tls != 3)
    return "options --caf-tls-cert, --caf-tls-key and --caf-tls-ca go "
           "together: give all three, or none";
  if (o.caf_port >= 0 && tls == 0 && !o.caf_insecure && !is_loopback(o.host))
    return "refusing to publish native links (--caf-port) on " + o.host
           + " without TLS: anyone who can reach the port could link and "
             "push blocks. Give --caf-tls-cert, --caf-tls-key and "
             "--caf-tls-ca (see README, \"Linking nodes natively\"), or "
             "--caf-insecure to publish unauthenticated anyway";
  return {};
}

} // namespace

command_line parse_command_line(int argc, const char* const* argv) {
  command_line out;
  auto fail = [&](std::string why) {
    out.what = command_line::action::error;
    out.error = std::move(why);
    return out;
  };
  std::vector<std::pair<std::string, std::string>> given;
  std::string config_file;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      out.what = command_line::action::help;
      return out;
    }
    if (arg == "--version") {
      out.what = command_line::action::version;
      return out;
    }
    if (arg.rfind("--", 0) != 0 || arg.size() == 2)
      return fail("unexpected argument '" + arg + "'");
    std::string key = arg.substr(2);
    std::string value;
    if (auto eq = key.find('='); eq != std::string::npos) {
      value = key.substr(eq + 1);
      key.erase(eq);
    } else if (key != "config" && !settings().count(key)) {
      return fail("unknown option '--" + key + "'");
    } else if (is_switch(key)) {
      // "--ephemeral" alone means true; a following true/false is its value.
      static const std::string words[] = {"true", "false", "1", "0", "yes", "no"};
      bool has_word = i + 1 < argc
                      && std::find(std::begin(words), std::end(words),
                                   std::string{argv[i + 1]})
                           != std::end(words);
      value = has_word ? argv[++i] : "true";
    } else if (i + 1 >= argc) {
      return fail("option '--" + key + "' needs a value");
    } else {
      value = argv[++i];
    }
    if (key == "config")
      config_file = value;
    else if (!settings().count(key))
      return fail("unknown option '--" + key + "'");
    else
      given.emplace_back(key, value);
  }
  if (!config_file.empty())
    if (auto err = load_file(out.options, config_file); !err.empty())
      return fail(err);
  for (const auto& [key, value] : given)
    if (auto err = apply(out.options, key, value, ""); !err.empty())
      return fail(err);
  if (auto err = check_together(out.options); !err.empty())
    return fail(err);
  return out;
}

std::string usage_text() {
  std::ostringstream os;
  os << "usage: dlt-node [options]\n\n"
        "A distributed-ledger node serving the reference DLT REST API.\n\n"
        "options (--key value or --key=value):\n"
        "  --config FILE                 read 'key = value' lines (same keys)\n";
  for (const auto& [key, s] : settings()) {
    std::string left = "  --" + key + " ";
    left += key == "host"       ? "ADDR"
            : key == "data-dir" ? "DIR"
            : key == "gossip"   ? "MODE"
            : key == "allow-origin" ? "ORIGIN"
            : key == "scheduler" ? "POLICY"
            : key.rfind("caf-tls-", 0) == 0 ? "FILE"
            : is_switch(key)    ? "[BOOL]"
                                : "N";
    if (left.size() < 32)
      left.resize(32, ' ');
    os << left << s.help << '\n';
  }
  os << "  --help                        print this text\n"
        "  --version                     print the version\n";
  return os.str();
}

std::string version_number() {
  return DLT_NODE_VERSION;
}

std::string version_text() {
  return std::string{"dlt-node "} + DLT_NODE_VERSION;
}

} // namespace dlt
