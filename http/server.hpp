#pragma once
// The REST transport: an asynchronous Beast HTTP/1.1 server (keep-alive,
// pipelined requests answered in order). It parses requests, enforces the
// limits below and hands every request to the edge actor; it knows nothing
// of routes or ledgers. Beast stays inside server.cpp.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "actors/actors.hpp"

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
};

class http_server {
public:
  virtual ~http_server() = default;
  /// The bound TCP port (useful with port 0).
  virtual std::uint16_t port() const = 0;
  /// Starts accepting; every request goes to `edge`. Until then clients
  /// wait in the listen backlog.
  virtual void start(edge_actor edge) = 0;
  /// Stops accepting and closes every open connection.
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
