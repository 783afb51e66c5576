// dlt-node: parses the options, starts the actors and the REST transport,
// and shuts everything down on SIGINT/SIGTERM.

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <optional>
#include <csignal>
#include <iostream>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/send.hpp>

#include "actors/log.hpp"
#include "actors/spawn.hpp"
#include "config/options.hpp"
#include "http/edge.hpp"
#include "http/metrics.hpp"
#include "http/metrics_sink.hpp"
#include "http/routes.hpp"
#include "http/peer_client.hpp"
#include "http/server.hpp"
#include "net/front.hpp"

namespace {

// Many concurrent clients and peers need many descriptors; use what the
// system allows.
void raise_descriptor_limit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
}

/// Native connections are capped (three descriptors each, plus one for a
/// moment per refused one) so they cannot take the descriptors HTTP needs;
/// says so when the process's limit leaves HTTP less than its own cap.
void warn_about_descriptors(std::uint64_t http, std::uint64_t native) {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur == RLIM_INFINITY)
    return;
  auto needed = http + 3 * native + 64; // 64: the ledger, logs, listeners
  if (lim.rlim_cur < needed)
    dlt::log("node", "the descriptor limit (", lim.rlim_cur,
             ") is below what --max-connections (", http,
             ") and --max-native-connections (", native, " x 3) may use");
}

std::size_t cores() {
  return std::max(1u, std::thread::hardware_concurrency());
}

/// Exit statuses besides 0 (stopped by a signal) and 2 (bad command line).
constexpr int exit_cannot_start = 1;   // port in use, ledger unusable, ...
constexpr int exit_storage_failed = 3; // a commit failed while running

/// Opens and checks the stored ledger, or says why not and what to do.
std::shared_ptr<dlt::ledger_store> open_ledger(const std::string& dir,
                                               dlt::stored_ledger& loaded) {
  auto started = std::chrono::steady_clock::now();
  auto store = dlt::ledger_store::open(dir);
  if (!store) {
    std::cerr << "dlt-node: cannot use the data directory: " << store.error()
              << '\n';
    return nullptr;
  }
  auto ledger = (*store)->load();
  if (!ledger) {
    std::cerr
      << "dlt-node: refusing to start: " << ledger.error() << ".\n"
      << "The ledger in " << dir << " cannot be trusted, and the node will "
      << "not serve or extend it.\nTo start afresh, move the directory "
      << "aside (mv " << dir << " " << dir << ".damaged) and start again; "
      << "the node then begins a new chain and can take the longest chain "
      << "back from its peers (POST /nodes/register, then POST /nodes/consensus). "
      << "Or restore " << dir << " from a backup.\n";
    return nullptr;
  }
  loaded = std::move(*ledger);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
              std::chrono::steady_clock::now() - started)
              .count();
  dlt::log("node", "ledger ", (*store)->path(), ": ",
           loaded.blocks.empty()
             ? std::string{"new"}
             : std::to_string(loaded.blocks.size()) + " blocks, "
                 + std::to_string(loaded.pending.size()) + " pending, "
                 + std::to_string(loaded.peers.size()) + " peers, checked in "
                 + std::to_string(ms) + " ms");
  return std::shared_ptr<dlt::ledger_store>{std::move(*store)};
}

} // namespace

int main(int argc, char** argv) {
  auto cmd = dlt::parse_command_line(argc, argv);
  switch (cmd.what) {
    case dlt::command_line::action::help:
      std::cout << dlt::usage_text();
      return 0;
    case dlt::command_line::action::version:
      std::cout << dlt::version_text() << '\n';
      return 0;
    case dlt::command_line::action::error:
      std::cerr << "dlt-node: " << cmd.error
                << "\nTry 'dlt-node --help' for the options.\n";
      return 2;
    case dlt::command_line::action::run:
      break;
  }
  const auto& opt = cmd.options;
  raise_descriptor_limit();
  std::signal(SIGPIPE, SIG_IGN);
  // A file-size limit must fail the write (and the commit, see storage)
  // rather than kill the process.
  std::signal(SIGXFSZ, SIG_IGN);

  // Metrics: declared first, so they outlive every thread that counts.
  dlt::metrics::registry metrics_registry;
  std::optional<dlt::metrics::node_metrics> metrics;
  if (opt.metrics) {
    std::vector<std::string> routes;
    for (const auto& r : dlt::all_routes())
      if (std::find(routes.begin(), routes.end(), r.name) == routes.end())
        routes.push_back(r.name);
    metrics.emplace(dlt::metrics::declare_node_metrics(
      metrics_registry, dlt::version_number(), routes));
  }

  // Declared before the actor system so it outlives it: actors that answer
  // late post onto this context.
  // HTTP threads: one per core. Actor threads: half the cores. The actors'
  // work per request is small, and more CAF workers than that mostly add
  // stealing and wake-ups (measured on 2 cores: 2+1 threads serve 15-18%
  // more requests than 2+2); CPU-heavy chain verification runs on detached
  // threads of its own.
  auto http_threads = opt.http_threads > 0 ? opt.http_threads : cores();
  boost::asio::io_context ioc{static_cast<int>(http_threads)};

  // Set when memory and disk can no longer agree; outlives the actor system.
  std::atomic<bool> storage_failed{false};

  caf::actor_system_config cfg;
  cfg.set("scheduler.max-threads",
          static_cast<std::size_t>(opt.actor_threads > 0
                                     ? opt.actor_threads
                                     : std::max<std::size_t>(1, cores() / 2)));
  cfg.set("scheduler.policy", opt.scheduler == "sharing" ? caf::atom("sharing")
                                                        : caf::atom("stealing"));
  cfg.set("logger.verbosity", caf::atom("quiet"));
  dlt::configure_native(cfg);
  caf::actor_system sys{cfg};

  dlt::http_limits limits;
  limits.max_event_streams = static_cast<std::size_t>(opt.max_event_streams);
  limits.allowed_origins = opt.allow_origins;
  limits.python_json = opt.python_json;
  limits.max_body_bytes = opt.max_body_bytes;
  limits.max_header_bytes = opt.max_header_bytes;
  limits.read_timeout = std::chrono::milliseconds{opt.read_timeout_ms};
  limits.idle_timeout = std::chrono::milliseconds{opt.idle_timeout_ms};
  limits.write_timeout = std::chrono::milliseconds{opt.write_timeout_ms};
  limits.max_connections = static_cast<std::size_t>(opt.max_connections);

  std::string error;
  auto server = dlt::bind_http_server(ioc, opt.host, opt.port, limits, error);
  if (!server) {
    std::cerr << "dlt-node: cannot listen on " << opt.host << ":" << opt.port
              << ": " << error << '\n';
    return exit_cannot_start;
  }

  // The chain's published state and the event hub come first: storage
  // reports to the hub too.
  auto published = std::make_shared<dlt::published_chain>();
  dlt::hub_settings hub_settings;
  hub_settings.version = dlt::version_text();
  auto hub = dlt::spawn_event_hub(sys, published, hub_settings);
  if (metrics) // before the ledger's actors report their first state
    caf::anon_send(hub, dlt::subscribe_atom::value,
                   dlt::make_metrics_sink(*metrics), std::uint64_t{0}, false);

  // Memory and disk no longer agreeing (a failed commit, a reorg half
  // done) stops the node before anything more is acknowledged; it starts
  // again from what is on disk.
  auto stop_failed = [&ioc, &storage_failed, server](const std::string& why) {
    dlt::log("node", "stopping: ", why);
    storage_failed = true;
    server->stop();
    ioc.stop();
  };

  // The ledger: loaded and checked before anything is served.
  dlt::stored_ledger loaded;
  dlt::storage_actor storage;
  if (!opt.ephemeral) {
    auto dir = !opt.data_dir.empty()
                 ? opt.data_dir
                 : "data/node-" + std::to_string(server->port());
    auto store = open_ledger(dir, loaded);
    if (!store) {
      caf::anon_send_exit(hub, caf::exit_reason::user_shutdown);
      return exit_cannot_start;
    }
    storage = dlt::spawn_storage(
      sys, std::move(store),
      [stop_failed](const std::string& why) {
        stop_failed("the ledger cannot be stored (" + why + ")");
      },
      hub);
  }

  std::chrono::milliseconds peer_timeout{opt.peer_timeout_ms};
  dlt::node_settings settings;
  settings.gossip.peer_timeout = peer_timeout;
  settings.gossip.requeue_orphans = opt.requeue_orphans;
  settings.gossip.push = opt.gossip == "push";
  settings.gossip.sync_interval = std::chrono::seconds{opt.sync_interval};
  settings.limits.max_pending = opt.max_pending;
  settings.limits.max_pending_bytes = opt.max_pending_bytes;
  settings.limits.max_block_transactions = opt.max_block_transactions;
  settings.limits.max_block_bytes = opt.max_block_bytes;
  settings.limits.max_peers = static_cast<std::size_t>(opt.max_peers);
  settings.limits.peer_max_failures =
    static_cast<std::uint32_t>(opt.peer_max_failures);
  settings.limits.peer_failing_for = std::chrono::seconds{opt.peer_failing_for_s};
  settings.fatal = stop_failed;
  settings.http_address = opt.host + ":" + std::to_string(server->port());
  // Every native connection, inbound and outbound, goes through the
  // front; CAF's middleman never faces the network.
  dlt::net::front_settings front_settings;
  front_settings.limits.max_message =
    static_cast<std::uint32_t>(opt.max_native_message_bytes);
  front_settings.max_connections =
    static_cast<std::size_t>(opt.max_native_connections);
  if (!opt.caf_tls_cert.empty())
    front_settings.tls =
      dlt::net::tls_files{opt.caf_tls_cert, opt.caf_tls_key, opt.caf_tls_ca};
  auto front = dlt::net::front::start(sys, front_settings, error);
  if (!front) {
    std::cerr << "dlt-node: cannot set up native links: " << error << '\n';
    server->stop();
    caf::anon_send_exit(hub, caf::exit_reason::user_shutdown);
    if (storage)
      caf::anon_send_exit(storage, caf::exit_reason::user_shutdown);
    return exit_cannot_start;
  }
  settings.connect = front->connector();
  warn_about_descriptors(opt.max_connections, opt.max_native_connections);

  auto fetcher = dlt::make_peer_fetcher(ioc, opt.max_peer_response_bytes,
                                       opt.max_peer_bytes_in_flight);
  auto actors = dlt::spawn_node_actors(sys, fetcher, settings,
                                       std::move(loaded), storage, hub,
                                       published);
  front->set_face(caf::actor_cast<caf::strong_actor_ptr>(actors.native));

  // The chain's first state is published without an event.
  if (metrics)
    metrics->chain_height.set(
      static_cast<std::int64_t>(actors.published->load().height));

  std::string native_address;
  if (opt.caf_port >= 0) {
    auto port = front->listen(opt.host, static_cast<std::uint16_t>(opt.caf_port),
                              error);
    if (!port) {
      std::cerr << "dlt-node: cannot publish on " << opt.host << ":"
                << opt.caf_port << ": " << error << '\n';
      server->stop();
      front->stop();
      dlt::stop_node_actors(actors);
      return exit_cannot_start;
    }
    native_address = "caf://" + opt.host + ":" + std::to_string(*port);
    if (!front_settings.tls)
      dlt::log("node", "native links are not authenticated (no --caf-tls-*)");
  }

  // Consensus answers within the peer deadline plus the time to adopt what
  // it found; this outer bound only catches a round that never ends.
  dlt::edge_settings edge_settings;
  edge_settings.consensus_timeout = peer_timeout + std::chrono::minutes(10);
  edge_settings.version = dlt::version_text();
  edge_settings.native_address = native_address;
  edge_settings.fetch = fetcher;
  edge_settings.peer_timeout = peer_timeout;
  auto edge = dlt::spawn_edge(sys, actors, edge_settings);

  // Only now, with everything in place, are requests taken.
  dlt::server_wiring wiring;
  wiring.edge = edge;
  wiring.hub = actors.hub;
  wiring.chain = actors.published;
  wiring.assets = dlt::find_web_asset;
  if (metrics) {
    auto& m = *metrics;
    wiring.metrics = [&metrics_registry] { return metrics_registry.render(); };
    wiring.on_request = [&m](const char* route, std::string_view method,
                             unsigned status, double seconds) {
      m.http_request(route, method, status, seconds);
    };
    wiring.on_connection = [&m](int n) { m.http_connections.inc(n); };
    wiring.on_stream = [&m](int n) { m.event_streams.inc(n); };
  }
  server->start(std::move(wiring));

  boost::asio::signal_set signals{ioc, SIGINT, SIGTERM};
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec)
      return;
    dlt::log("node", "signal ", sig, ": shutting down");
    server->stop();
    ioc.stop();
  });

  dlt::log("node", dlt::version_text(), " up on ", opt.host, ":",
           server->port(), " (peer timeout ", opt.peer_timeout_ms, " ms",
           opt.ephemeral ? ", ephemeral" : "", ")");
  if (!native_address.empty())
    std::cout << "dlt-node linking natively on " << native_address << '\n';
  // Last: scripts and tests take this line to mean the node is ready.
  std::cout << "dlt-node listening on http://" << opt.host << ":"
            << server->port() << std::endl;

  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < http_threads; ++i)
    threads.emplace_back([&ioc] { ioc.run(); });
  ioc.run();
  for (auto& t : threads)
    t.join();

  front->stop(); // peers see the links go at once
  caf::anon_send_exit(edge, caf::exit_reason::user_shutdown);
  dlt::stop_node_actors(actors);
  dlt::log("node", "stopped");
  return storage_failed ? exit_storage_failed : 0;
}
