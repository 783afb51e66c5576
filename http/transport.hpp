#pragma once
// Internals of the transport shared by server.cpp (listener), session.cpp
// (requests) and sse_session.cpp (event streams). Included only by those:
// it pulls in Beast.

#include <atomic>
#include <list>
#include <memory>
#include <mutex>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include "http/server.hpp"

namespace dlt {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;

/// An open client connection, as the connection limit sees it.
class connection {
public:
  virtual ~connection() = default;
  /// Closes it; safe from any thread.
  virtual void close() = 0;
  /// Closes it to make room for a new one; a request in flight is answered
  /// 503 first. Safe from any thread.
  virtual void evict() = 0;
  /// Waiting for (part of) a request: the first to go at the limit.
  virtual bool idle() const = 0;
  /// A request handed on and not yet answered: the next to go.
  virtual bool parked() const = 0;
};

/// The open connections, oldest first, so the listener can make room.
class connection_registry {
public:
  using handle = std::list<std::weak_ptr<connection>>::iterator;

  explicit connection_registry(std::size_t max) : max_(max) {}

  handle add(std::weak_ptr<connection> c);
  void remove(handle h);
  bool full();
  /// Evicts the oldest idle connection, else the oldest parked one; false
  /// when every connection is busy otherwise (streaming, writing).
  bool make_room();
  void close_all();

private:
  std::mutex mutex_;
  std::list<std::weak_ptr<connection>> list_;
  std::size_t max_;
};

struct server_context {
  http_limits limits;
  server_wiring wiring;
  connection_registry registry;
  std::atomic<std::size_t> streams{0};
  /// Large bodies are read here, at a lower priority than the I/O threads,
  /// so heavy clients cannot slow light ones; at most max_heavy_queued wait.
  net::thread_pool heavy{1};
  std::atomic<std::size_t> heavy_queued{0};
  static constexpr std::size_t heavy_body_bytes = 64 << 10;
  static constexpr std::size_t max_heavy_queued = 64;

  explicit server_context(const http_limits& l);
  ~server_context();
};

/// Serves one client connection's requests (session.cpp).
void start_session(tcp::socket&& socket, std::shared_ptr<server_context> ctx);

/// Turns a connection that asked GET /events into an event stream
/// (sse_session.cpp): `after` is the Last-Event-ID it gave (0: none).
void start_event_stream(beast::tcp_stream&& stream,
                        std::shared_ptr<server_context> ctx, unsigned version,
                        std::uint64_t after);

} // namespace dlt
