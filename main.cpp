// dlt-node: parses the options, starts the actors and the REST transport,
// and shuts everything down on SIGINT/SIGTERM.

#include <sys/resource.h>

#include <csignal>
#include <iostream>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/send.hpp>

#include "actors/log.hpp"
#include "actors/spawn.hpp"
#include "config/options.hpp"
#include "http/edge.hpp"
#include "http/peer_client.hpp"
#include "http/server.hpp"

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

std::size_t cores() {
  return std::max(1u, std::thread::hardware_concurrency());
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

  // Declared before the actor system so it outlives it: actors that answer
  // late post onto this context.
  // HTTP threads: one per core. Actor threads: half the cores. The actors'
  // work per request is small, and more CAF workers than that mostly add
  // stealing and wake-ups (measured on 2 cores: 2+1 threads serve 15-18%
  // more requests than 2+2); CPU-heavy chain verification runs on detached
  // threads of its own.
  auto http_threads = opt.http_threads > 0 ? opt.http_threads : cores();
  boost::asio::io_context ioc{static_cast<int>(http_threads)};

  caf::actor_system_config cfg;
  cfg.set("scheduler.max-threads",
          static_cast<std::size_t>(opt.actor_threads > 0
                                     ? opt.actor_threads
                                     : std::max<std::size_t>(1, cores() / 2)));
  cfg.set("logger.verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};

  std::chrono::milliseconds peer_timeout{opt.peer_timeout_ms};
  dlt::gossip_settings gossip;
  gossip.peer_timeout = peer_timeout;
  gossip.requeue_orphans = opt.requeue_orphans;
  auto actors = dlt::spawn_node_actors(
    sys, dlt::make_peer_fetcher(ioc, opt.max_peer_response_bytes), gossip);
  // Consensus answers within the peer deadline plus the time to verify what
  // arrived; this outer bound only catches a round that never ends.
  auto edge = dlt::spawn_edge(sys, actors,
                              peer_timeout + std::chrono::minutes(10));

  dlt::http_limits limits;
  limits.max_body_bytes = opt.max_body_bytes;
  limits.max_header_bytes = opt.max_header_bytes;
  limits.read_timeout = std::chrono::milliseconds{opt.read_timeout_ms};
  limits.idle_timeout = std::chrono::milliseconds{opt.idle_timeout_ms};
  limits.write_timeout = std::chrono::milliseconds{opt.write_timeout_ms};
  limits.max_connections = static_cast<std::size_t>(opt.max_connections);

  std::string error;
  auto server = dlt::start_http_server(ioc, opt.host, opt.port, limits, edge,
                                       error);
  if (!server) {
    std::cerr << "dlt-node: cannot listen on " << opt.host << ":" << opt.port
              << ": " << error << '\n';
    caf::anon_send_exit(edge, caf::exit_reason::user_shutdown);
    dlt::stop_node_actors(actors);
    return 1;
  }

  boost::asio::signal_set signals{ioc, SIGINT, SIGTERM};
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec)
      return;
    dlt::log("node", "signal ", sig, ": shutting down");
    server->stop();
    ioc.stop();
  });

  dlt::log("node", dlt::version_text(), " up on ", opt.host, ":",
           server->port(), " (peer timeout ", opt.peer_timeout_ms, " ms)");
  // Last: scripts and tests take this line to mean the node is ready.
  std::cout << "dlt-node listening on http://" << opt.host << ":"
            << server->port() << std::endl;

  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < http_threads; ++i)
    threads.emplace_back([&ioc] { ioc.run(); });
  ioc.run();
  for (auto& t : threads)
    t.join();

  caf::anon_send_exit(edge, caf::exit_reason::user_shutdown);
  dlt::stop_node_actors(actors);
  dlt::log("node", "stopped");
  return 0;
}
