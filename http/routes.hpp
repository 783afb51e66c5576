#pragma once
// The route table: every path the node serves, with what the transport must
// know before the edge actor sees a request -- the methods, whether the
// route changes state (Origin check), whether browsers on other origins may
// read it (CORS), and how its body is read. Where a request goes, in one
// place: read routes are answered by the transport from published state,
// the rest by the edge actor (http/edge_actor.cpp).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dlt {

enum class route_id : std::uint8_t {
  chain,            // GET  /chain                 transport (published chain)
  blocks,           // GET  /blocks                transport (published chain)
  events,           // GET  /events                transport (SSE session, hub)
  metrics,          // GET  /metrics               transport (metrics)
  explorer,         // GET  /, /static/...         transport (web assets)
  status,           // GET  /status                edge -> hub
  pending,          // GET  /transactions/pending  edge -> mempool
  peer_chain,       // GET  /nodes/peer-chain      edge -> peer registry, fetcher
  transactions_new, // POST /transactions/new      edge -> mempool
  mine,             // POST /mine                  edge -> miner
  register_nodes,   // POST /nodes/register        edge -> peer registry
  unregister_nodes, // POST /nodes/unregister      edge -> peer registry
  consensus,        // POST /nodes/consensus       edge -> consensus
  evil,             // POST /action/evil           edge -> chain
  unknown,          // anything else: 404
};

/// How a route's request body is read before the edge sees it.
enum class body_kind : std::uint8_t {
  ignored,      // GET routes: whatever is sent is ignored
  none,         // takes no input: empty, or any JSON (the notebook posts {})
  transaction,  // {"data": value}
  nodes,        // {"nodes": [addresses]}
};

struct route_info {
  route_id id;
  const char* name;   // bounded label for metrics and logs
  const char* path;   // exact path ("/static/" matches a prefix)
  const char* method; // GET (HEAD too) or POST
  body_kind body;
  bool cors;          // read-only: Access-Control-Allow-Origin: *
};

/// The route of `path`, or the unknown route (name "unknown").
const route_info& find_route(std::string_view path);

/// Every route (for metrics declarations and docs).
const std::vector<route_info>& all_routes();

/// Query parameters ("a=1&b=x"), percent-decoded; the last of a repeated
/// name wins.
std::map<std::string, std::string> parse_query(std::string_view query);

/// The whole number query parameter `name` in [min, max], `fallback` when
/// absent; nothing (and `error` set) when it is malformed or out of range.
std::optional<std::uint64_t>
query_number(const std::map<std::string, std::string>& query, const char* name,
             std::uint64_t fallback, std::uint64_t min, std::uint64_t max,
             std::string& error);

/// Whether a browser request carrying `origin` (the Origin header) comes
/// from the node's own origin (http://`host`, Host header) or one of
/// `allowed`; "null" and malformed origins are foreign.
bool origin_allowed(std::string_view origin, std::string_view host,
                    const std::vector<std::string>& allowed);

} // namespace dlt
