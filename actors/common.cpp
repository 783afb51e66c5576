// Small pieces shared by all actors: the served chain, logging, the clock
// and wiring helpers.

#include <algorithm>
#include <chrono>
#include <iterator>
#include <cstdio>
#include <ctime>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/make_message.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "actors/log.hpp"
#include "actors/spawn.hpp"

namespace dlt {

std::string_view json_segment::block(std::uint64_t index) const {
  auto k = index - first;
  std::size_t begin = k == 0 ? 0 : ends[k - 1] + 2; // after ", "
  return std::string_view(text).substr(begin, ends[k] - begin);
}

void json_segment::add(std::string_view json, const digest& hash) {
  if (!ends.empty())
    text += ", ";
  text += json;
  ends.push_back(static_cast<std::uint32_t>(text.size()));
  hashes.push_back(hash);
}

std::uint64_t segment_tail::size() const {
  std::uint64_t n = 0;
  for (const auto& seg : segments)
    n += seg->count();
  return n;
}

std::size_t chain_json::size() const {
  std::size_t n = 2; // brackets
  for (const auto& seg : segments)
    n += seg->text.size();
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
    out += segments[i]->text;
  }
  out += ']';
  return out;
}

std::uint64_t chain_json::blocks() const {
  return segments.empty() ? 0
                          : segments.back()->first + segments.back()->count() - 1;
}

std::size_t segment_holding(const json_segments& segments, std::uint64_t index) {
  auto it = std::upper_bound(
    segments.begin(), segments.end(), index,
    [](std::uint64_t i, const auto& seg) { return i < seg->first; });
  return static_cast<std::size_t>(std::prev(it) - segments.begin());
}

std::vector<block_run> runs_of(const json_segments& segments,
                               std::uint64_t first, std::uint64_t last) {
  std::vector<block_run> runs;
  for (auto i = first; i <= last;) {
    const auto& seg = segments[segment_holding(segments, i)];
    auto end = std::min(last + 1, seg->first + seg->count());
    runs.push_back(block_run{seg->first, seg->text, seg->ends.data(),
                             seg->hashes.data(),
                             static_cast<std::size_t>(i - seg->first),
                             static_cast<std::size_t>(end - seg->first), seg});
    i = end;
  }
  return runs;
}

std::string_view chain_json::block(std::uint64_t index) const {
  return segments[segment_holding(segments, index)]->block(index);
}

const digest& chain_json::hash(std::uint64_t index) const {
  const auto& seg = *segments[segment_holding(segments, index)];
  return seg.hashes[index - seg.first];
}

std::string chain_view::tip_json() const {
  if (!blocks || height == 0)
    return {};
  return std::string{blocks->block(height)};
}

void published_chain::store(chain_view view) {
  std::lock_guard<std::mutex> guard{mutex_};
  view_ = std::move(view);
}

chain_view published_chain::load() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return view_;
}

caf::error make_node_error(node_error code, std::string text) {
  return caf::error{static_cast<std::uint8_t>(code), caf::atom("dlt"),
                    caf::make_message(std::move(text))};
}

std::optional<node_error> node_error_code(const caf::error& err) {
  if (!err || err.category() != caf::atom("dlt"))
    return std::nullopt;
  return static_cast<node_error>(err.code());
}

std::string error_text(const caf::error& err) {
  if (node_error_code(err) && err.context().match_elements<std::string>())
    return err.context().get_as<std::string>(0);
  return to_string(err);
}

std::chrono::milliseconds time_left(deadline_t d) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
    d - std::chrono::steady_clock::now());
  return std::max(left, std::chrono::milliseconds{1});
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
  cfg.add_message_type<std::vector<std::uint64_t>>(index_list_type_name);
  cfg.set("middleman.heartbeat-interval",
          caf::timespan{std::chrono::seconds(1)});
  cfg.set("middleman.connection-timeout",
          caf::timespan{std::chrono::seconds(5)});
}

node_actors spawn_node_actors(caf::actor_system& sys, chain_fetcher fetch,
                              node_settings settings, stored_ledger start,
                              storage_actor storage, event_hub_actor hub,
                              published_chain_ptr published) {
  node_actors a;
  a.published = published ? std::move(published)
                          : std::make_shared<published_chain>();
  a.hub = hub ? std::move(hub) : spawn_event_hub(sys, a.published);
  a.storage = storage;
  a.mempool = spawn_mempool(sys, std::move(start.pending), storage, a.hub,
                            settings.limits);
  a.chain = spawn_chain(sys, std::move(start.blocks), std::move(start.own),
                        storage, a.mempool, a.published, a.hub, settings.fatal);
  a.peers = spawn_peer_registry(sys, std::move(start.peers), storage, a.hub,
                                settings.limits);
  a.miner = spawn_miner(sys, a.mempool, a.chain);
  a.native = spawn_native(sys, a.published, settings.http_address);
  a.links = spawn_links(sys, a.peers, a.native, a.hub, a.published,
                        std::move(settings.connect), settings.gossip);
  a.consensus = spawn_consensus(sys, a.peers, a.chain, a.published, a.links,
                                a.native, a.hub, std::move(fetch),
                                settings.gossip);
  caf::anon_send(a.native, a.consensus, a.links);
  // The chain actor publishes its first state when it starts (a long
  // chain takes a moment): wait for it, so nothing is served before.
  caf::scoped_actor self{sys};
  self->request(a.chain, ask_timeout, height_atom::value)
    .receive([](std::uint64_t) {},
             [](caf::error& err) {
               log("node", "the chain did not start: ", to_string(err));
             });
  return a;
}

void stop_node_actors(const node_actors& a) {
  auto reason = caf::exit_reason::user_shutdown;
  caf::anon_send_exit(a.native, reason);
  caf::anon_send_exit(a.consensus, reason);
  caf::anon_send_exit(a.links, reason);
  caf::anon_send_exit(a.miner, reason);
  caf::anon_send_exit(a.peers, reason);
  caf::anon_send_exit(a.mempool, reason);
  caf::anon_send_exit(a.chain, reason);
  // Last: what the others sent before their exit is still stored, and the
  // storage actor reports to the hub.
  if (a.storage)
    caf::anon_send_exit(a.storage, reason);
  caf::anon_send_exit(a.hub, reason);
}

} // namespace dlt
