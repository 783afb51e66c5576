// Small pieces shared by all actors: the responder, logging, the clock and
// wiring helpers.

#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/send.hpp>

#include "actors/log.hpp"
#include "actors/spawn.hpp"

namespace dlt {

std::size_t chain_json::size() const {
  std::size_t n = 2; // brackets
  for (const auto& seg : segments)
    n += seg->size();
  if (segments.size() > 1)
    n += 2 * (segments.size() - 1);
  return n;
}

std::string chain_json::str() const {
  std::string out;
  out.reserve(size());
  out += '[';
  for (std::size_t i = 0; i < segments.size(); ++i) {
    if (i > 0)
      out += ", ";
    out += *segments[i];
  }
  out += ']';
  return out;
}

std::string chain_view::tip_json() const {
  if (!blocks || blocks->segments.empty() || tip_bytes == 0)
    return {};
  const auto& last = *blocks->segments.back();
  return last.substr(last.size() - tip_bytes);
}

responder::responder(callback cb) : cb_(std::move(cb)) {
}

responder::~responder() {
  if (cb_) {
    rest_response res;
    res.status = 503;
    res.prefix = R"({"error": "The node could not answer this request"})";
    cb_(std::move(res));
  }
}

void responder::respond(rest_response res) {
  if (auto cb = std::move(cb_)) {
    cb_ = nullptr;
    cb(std::move(res));
  }
}

void write_log_line(std::string_view component, const std::string& text) {
  auto now = std::chrono::system_clock::now();
  std::time_t secs = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
  std::string line = std::string{stamp} + " [" + std::string{component}
                     + "] " + text + "\n";
  std::fwrite(line.data(), 1, line.size(), stderr);
}

double wall_clock_seconds() {
  // Same arithmetic as CPython's time(): seconds + nanoseconds * 1e-9.
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<double>(ts.tv_sec) + ts.tv_nsec * 1e-9;
}

void configure_native(caf::actor_system_config& cfg) {
  cfg.load<caf::io::middleman>();
  cfg.add_message_type<std::vector<std::uint64_t>>("dlt::index_list");
  cfg.set("middleman.heartbeat-interval",
          caf::timespan{std::chrono::seconds(1)});
  cfg.set("middleman.connection-timeout",
          caf::timespan{std::chrono::seconds(5)});
}

node_actors spawn_node_actors(caf::actor_system& sys, chain_fetcher fetch,
                              gossip_settings settings, stored_ledger start,
                              storage_actor storage) {
  node_actors a;
  a.storage = storage;
  a.mempool = spawn_mempool(sys, std::move(start.pending), storage);
  a.chain = spawn_chain(sys, std::move(start.blocks), std::move(start.own),
                        storage, a.mempool);
  a.peers = spawn_peer_registry(sys, std::move(start.peers), storage);
  a.miner = spawn_miner(sys, a.mempool, a.chain);
  a.gossiper = spawn_gossiper(sys, a.peers, a.chain, std::move(fetch),
                              settings);
  a.native = spawn_native(sys, a.chain, a.gossiper);
  caf::anon_send(a.gossiper, face_atom::value, a.native);
  caf::anon_send(a.peers, subscribe_atom::value,
                 caf::actor_cast<peer_watcher_actor>(a.gossiper));
  return a;
}

void stop_node_actors(const node_actors& a) {
  auto reason = caf::exit_reason::user_shutdown;
  caf::anon_send_exit(a.native, reason);
  caf::anon_send_exit(a.gossiper, reason);
  caf::anon_send_exit(a.miner, reason);
  caf::anon_send_exit(a.peers, reason);
  caf::anon_send_exit(a.mempool, reason);
  caf::anon_send_exit(a.chain, reason);
  // Last: what the others sent before their exit is still stored.
  if (a.storage)
    caf::anon_send_exit(a.storage, reason);
}

} // namespace dlt
