#pragma once
// Internals of the transport shared by server.cpp (listener), session.cpp
// (requests) and sse_session.cpp (event streams). Included only by those:
// it pulls in Beast.

#include <atomic>
#include <chrono>
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

/// What an open connection is doing, as the connection limit sees it.
enum class conn_state : int {
  idle,    // waiting for a request to begin: the first to go at the limit
  reading, // a request is arriving (or trickling in, slowloris-like)
  waiting, // its request waits on a long call (a consensus round)
  parked,  // its request is handed on and will be answered soon
  busy,    // writing an answer, lingering, or streaming: never evicted
};

class connection_registry;

/// An open client connection.
class connection {
public:
  virtual ~connection() = default;
  /// Closes it; safe from any thread.
  virtual void close() = 0;
  /// Closes it to make room for a new one; a request in flight is answered
  /// 503 first. Safe from any thread; called once.
  virtual void evict() = 0;

  conn_state state() const {
    return static_cast<conn_state>(state_.load(std::memory_order_relaxed));
  }
  /// When it entered its state.
  std::chrono::steady_clock::time_point since() const {
    return std::chrono::steady_clock::time_point{
      std::chrono::steady_clock::duration{since_.load(std::memory_order_relaxed)}};
  }

protected:
  void set_state(conn_state s) {
    since_.store(std::chrono::steady_clock::now().time_since_epoch().count(),
                 std::memory_order_relaxed);
    state_.store(static_cast<int>(s), std::memory_order_relaxed);
  }

private:
  friend class connection_registry;
  std::atomic<int> state_{static_cast<int>(conn_state::busy)};
  std::atomic<std::chrono::steady_clock::rep> since_{0};
  // Touched only under the registry's lock.
  std::list<std::weak_ptr<connection>>::iterator handle_;
  bool listed_ = false;
};

/// The open connections, so the listener can make room at the limit.
class connection_registry {
public:
  explicit connection_registry(std::size_t max) : max_(max) {}

  void add(const std::shared_ptr<connection>& c);
  /// Removes it, unless it was evicted (and so removed) already.
  void remove(connection& c);
  bool full();
  /// Evicts one connection to make room, in this order: the one idle
  /// longest, the one whose request has been arriving longest (a
  /// slowloris) -- each once it has been so for min_age, so a client that
  /// has just connected is not thrown out for the next one --, then the
  /// one waiting longest on a long call (whatever its age: such requests
  /// must not lock new clients out), then a quick request parked for a
  /// second. The victim leaves the registry at once. False when there is
  /// none.
  bool make_room();
  void close_all();

  static constexpr std::chrono::milliseconds min_age{250};
  static constexpr std::chrono::milliseconds min_parked_age{1000};

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
