#pragma once
// Command line and config file of dlt-node. No dependency on the rest of the
// node: main() turns these values into server limits and actor settings.
//
//   dlt-node [--port N] [--host ADDR] [--peer-timeout-ms N] [--config FILE]
//            [--<limit> N ...] [--help] [--version]
//
// Every option takes "--key value" or "--key=value". A config file holds the
// same keys as "key = value" lines ('#' starts a comment); the command line
// wins over the file. See config/dlt-node.conf.

#include <cstdint>
#include <string>
#include <vector>

namespace dlt {

struct node_options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8081;
  /// Deadline for one peer's GET /chain during consensus.
  std::uint64_t peer_timeout_ms = 5000;
  /// Largest request body accepted (413 above).
  std::uint64_t max_body_bytes = 1 << 20;
  /// Largest request header block accepted (431 above).
  std::uint64_t max_header_bytes = 16 << 10;
  /// A request must arrive completely within this once it has begun.
  std::uint64_t read_timeout_ms = 10000;
  /// A keep-alive connection may wait this long for its next request.
  std::uint64_t idle_timeout_ms = 30000;
  /// A response must be written within this (large chains to slow readers).
  std::uint64_t write_timeout_ms = 60000;
  /// Open client connections; at the limit the oldest one still waiting for
  /// its request is closed to make room (so half-open floods cannot starve
  /// real clients).
  std::uint64_t max_connections = 4096;
  /// Largest GET /chain answer accepted from a peer.
  std::uint64_t max_peer_response_bytes = 256ull << 20;
  /// Return transactions of orphaned blocks to the mempool on adoption.
  bool requeue_orphans = false;
  /// Where the ledger is stored; empty: data/node-<port> under the working
  /// directory (the port the node listens on).
  std::string data_dir;
  /// Keep everything in memory only (demos, tests): nothing survives.
  bool ephemeral = false;
  /// Publish the node's native actor on this TCP port (CAF remote actors);
  /// -1: not published; 0: any free port (printed).
  std::int64_t caf_port = -1;
  /// Native links: the largest frame taken from a peer (answers to our
  /// blocks requests; everything unasked is far smaller), and connections
  /// at once (inbound and outbound).
  std::uint64_t max_native_message_bytes = 64ull << 20;
  std::uint64_t max_native_connections = 256;
  /// Mutual TLS for native links: all three or none.
  std::string caf_tls_cert;
  std::string caf_tls_key;
  std::string caf_tls_ca;
  /// Publish native links without TLS on a non-loopback address anyway.
  bool caf_insecure = false;
  /// "off" or "push": announce new tips to native peers.
  std::string gossip = "off";
  /// Seconds between consensus rounds the node runs on its own (0: never).
  std::uint64_t sync_interval = 0;
  /// Pending transactions (count and canonical bytes); beyond: 503.
  std::uint64_t max_pending = 50000;
  std::uint64_t max_pending_bytes = 64ull << 20;
  /// What one mined block may take from the mempool.
  std::uint64_t max_block_transactions = 10000;
  std::uint64_t max_block_bytes = 4ull << 20;
  /// Registered peers; eviction of peers that keep failing.
  std::uint64_t max_peers = 1024;
  std::uint64_t peer_max_failures = 10;
  std::uint64_t peer_failing_for_s = 300;
  /// Serve GET /metrics (Prometheus).
  bool metrics = true;
  /// Accept in POST /transactions/new the values only Python's json writes
  /// (integers beyond 64 bits, NaN, Infinity, lone surrogates).
  bool python_json = false;
  /// Bytes held for peers' chain answers at once, node-wide (0: the same as
  /// max_peer_response_bytes).
  std::uint64_t max_peer_bytes_in_flight = 0;
  /// Open GET /events streams.
  std::uint64_t max_event_streams = 256;
  /// Origins (besides the node's own) whose browser pages may POST.
  std::vector<std::string> allow_origins;
  /// Threads serving HTTP (0: one per core).
  std::uint64_t http_threads = 0;
  /// Threads running actors (0: half the cores, at least one).
  std::uint64_t actor_threads = 0;
  /// CAF's scheduler: "sharing" (one queue, idle threads sleep) or
  /// "stealing" (work stealing; idle threads poll).
  std::string scheduler = "sharing";
};

/// What the command line asks for.
struct command_line {
  enum class action { run, help, version, error } what = action::run;
  node_options options;
  std::string error; // for action::error
};

/// Parses argv (and the --config file it names).
command_line parse_command_line(int argc, const char* const* argv);

/// The --help text.
std::string usage_text();

/// "dlt-node <version>".
std::string version_text();

/// "<version>" alone (metrics' build info).
std::string version_number();

} // namespace dlt
