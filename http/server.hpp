#pragma once
// The REST transport: an asynchronous Beast HTTP/1.1 server (keep-alive,
// pipelined requests answered in order) and Server-Sent Event streams. It
// routes requests by the route table (routes.hpp), enforces the limits
// below, reads bodies off the actors' threads, answers read routes from
// published state, and hands the rest to the edge actor. Beast stays inside
// the .cpp files of http/.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/edge.hpp"
#include "http/web_assets.hpp"

namespace boost::asio {
class io_context;
}

namespace dlt {

struct http_limits {
  std::uint64_t max_body_bytes = 1 << 20;
  std::uint64_t max_header_bytes = 16 << 10;
  std::chrono::milliseconds read_timeout{10000};
  std::chrono::milliseconds idle_timeout{30000};
  std::chrono::milliseconds write_timeout{60000};
  std::size_t max_connections = 4096;
  /// Open GET /events streams (they count as connections too).
  std::size_t max_event_streams = 256;
  /// Bytes of events queued for one stream before it is dropped (the
  /// client reconnects and resumes with Last-Event-ID).
  std::size_t max_stream_queue_bytes = 1 << 20;
  /// Origins besides the node's own whose browser pages may change state
  /// (POST); see origin_allowed().
  std::vector<std::string> allowed_origins;
  /// Accept in requests the values only Python writes (--python-json).
  bool python_json = false;
};

/// A file of the explorer page as the transport serves it.
using static_asset = web_asset;

/// What the transport serves besides the edge actor's routes.
struct server_wiring {
  edge_actor edge;
  event_hub_actor hub;         // GET /events
  published_chain_ptr chain;   // GET /chain, GET /blocks
  /// GET / and /static/...: the asset at a path, or nothing.
  std::function<const static_asset*(std::string_view)> assets;
  /// GET /metrics: the exposition text (empty function: 404, disabled).
  std::function<std::string()> metrics;
  /// Told of every answered request (route name, method, status, seconds)
  /// and of connections and streams opening (+1) and closing (-1).
  std::function<void(const char*, std::string_view, unsigned, double)>
    on_request;
  std::function<void(int)> on_connection;
  std::function<void(int)> on_stream;
};

class http_server {
public:
  virtual ~http_server() = default;
  /// The bound TCP port (useful with port 0).
  virtual std::uint16_t port() const = 0;
  /// Starts accepting. Until then clients wait in the listen backlog.
  virtual void start(server_wiring wiring) = 0;
  /// Stops accepting and closes every open connection and stream.
  virtual void stop() = 0;
};

/// Binds host:port on `ioc` (bound first, so that a node started on port 0
/// knows its port, and thus its default data directory, before it loads its
/// ledger). Returns null and sets `error` when the address cannot be bound.
std::shared_ptr<http_server>
bind_http_server(boost::asio::io_context& ioc, const std::string& host,
                 std::uint16_t port, const http_limits& limits,
                 std::string& error);

} // namespace dlt
