#pragma once
// Internal to the front (net/front.cpp, net/session.cpp): what its
// connections share. Everything here is used on the front's thread only,
// except connect_reply.

#include <chrono>
#include <cstdint>
#include <deque>
#include <future>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <caf/actor.hpp>
#include <caf/actor_control_block.hpp>

#include "net/front.hpp"

namespace dlt::net {

using steady = std::chrono::steady_clock;

/// A link's outcome (the peer's face or why not), delivered once, from
/// whichever thread gets there first: the front when the connection
/// fails before the peer's handshake, CAF's answer otherwise.
class connect_reply {
public:
  using callback = std::function<void(caf::strong_actor_ptr, std::string)>;
  explicit connect_reply(callback fn) : fn_(std::move(fn)) {}
  void deliver(caf::strong_actor_ptr face, std::string error);

private:
  std::mutex mutex_;
  callback fn_;
};

/// One connection, as the front sees it.
class session_base {
public:
  virtual ~session_base() = default;
  /// Closes both sides; `notable`: a refusal worth a log line.
  virtual void close(const std::string& why, bool notable) = 0;
  /// Bytes its buffers hold.
  virtual std::size_t held() const = 0;
};

/// Stand-in node ids for CAF. CAF keeps a helper actor per node id it ever
/// learns, for the life of the process; peers choose their ids freely, so
/// CAF sees ids from this pool instead: the same stand-in for one claimed
/// id while any connection with it is open, and a stand-in comes back to
/// the pool only a while after its last connection closed (CAF has then
/// forgotten the node's proxies and routes).
class node_pool {
public:
  node_pool(std::size_t size, std::chrono::milliseconds cooling);
  std::optional<node_bytes> acquire(const node_bytes& real);
  void release(const node_bytes& real);

private:
  struct entry {
    std::uint32_t index;
    std::size_t refs;
  };
  node_bytes stand_in(std::uint32_t index) const;

  std::map<node_bytes, entry> by_real_;
  std::vector<std::uint32_t> free_;
  std::deque<std::pair<steady::time_point, std::uint32_t>> cooling_;
  std::chrono::milliseconds cooling_time_;
  std::array<unsigned char, 20> host_{}; // random: never equal to our own
};

/// A budget refilled at `rate` per second up to `burst`.
struct bucket {
  double rate = 0;
  double burst = 0;
  double tokens = 0;
  steady::time_point last = steady::now();

  void refill(steady::time_point now);
  /// How long until tokens reach `need` (zero when they have).
  steady::duration wait_for(double need) const;
};

/// A frame buffer up to this size stays with its connection for the next
/// frame; a larger one goes back to the front's spares.
constexpr std::size_t keep_capacity = 1 << 20;

/// Large frame buffers kept after use for the next large frame. A native
/// sync relays answers of megabytes one after another; a buffer allocated
/// anew for each (mapped on its own, zero-filled by the kernel page by page,
/// unmapped after) cost more than relaying its bytes, and one grown as a
/// peer's answer arrived was copied at every doubling on top. At most
/// `count` buffers of at most `largest` bytes are kept, all freed once none
/// was asked for during `idle`, and counted in the front's memory bound
/// (front_core::check_memory frees them first).
class spare_frames {
public:
  spare_frames(boost::asio::io_context& ioc, std::size_t count,
               std::size_t largest, std::chrono::milliseconds idle);
  /// An empty buffer with room for `least` bytes and no more than `most`
  /// (a frame never holds much more memory than it needs): the smallest
  /// kept one that fits, else an empty one (no room).
  std::vector<unsigned char> take(std::size_t least, std::size_t most);
  /// Keeps `buffer` (emptied) if it is larger than keep_capacity and at
  /// most `largest`; with `count` kept, it replaces the smallest one if it
  /// is larger.
  void give(std::vector<unsigned char>&& buffer);
  /// Capacity of the buffers kept.
  std::size_t bytes() const;
  /// Frees them all.
  void clear();

private:
  std::vector<std::vector<unsigned char>> kept_;
  std::size_t count_;
  std::size_t largest_;
  std::chrono::milliseconds idle_;
  boost::asio::steady_timer timer_;
};

/// Log lines about refusals, at most a few a second (a flood of
/// connections must not become a flood of log lines).
class log_limiter {
public:
  void line(const std::string& text);

private:
  bucket budget_{5, 20, 20};
  std::uint64_t suppressed_ = 0;
};

class front_core {
public:
  front_core(caf::actor_system& sys, front_settings s);

  boost::asio::io_context ioc;
  caf::actor_system& sys;
  caf::actor broker; // CAF's BASP broker
  front_settings settings;
  std::shared_ptr<tls_contexts> tls;
  node_bytes our_node{};
  caf::strong_actor_ptr face;
  std::uint64_t face_id = 0;
  std::uint16_t port = 0; // where we listen (the key CAF publishes under)

  std::size_t connections = 0;
  std::size_t pending = 0;
  std::size_t held = 0;
  std::uint64_t accepted = 0;
  std::uint64_t refused = 0;
  std::uint64_t violations = 0;
  std::unordered_set<session_base*> sessions;
  node_pool pool;
  spare_frames spares;
  log_limiter log;
  bucket frames_all;
  bucket accepts;
  bool stopped = false;

  // The thread, and what keeps it running until stop().
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work;
  std::thread thread;
  std::promise<void> finished;
  std::vector<std::shared_ptr<boost::asio::ip::tcp::acceptor>> acceptors;
  /// Deadlines of connections being opened (cancelled on stop).
  std::unordered_set<boost::asio::steady_timer*> connecting;
  /// Links asked for before the face was set.
  std::vector<std::function<void()>> waiting;

  /// Two nodes that link to each other at the same moment open two
  /// connections; CAF keeps one, but when each side's CAF takes the
  /// other's client handshake first, each closes its own outbound
  /// connection as redundant and both go (then both link again at the same
  /// moment). The lower node id breaks the tie: while its own links are
  /// being opened, it holds back a higher node's inbound handshake (at most
  /// a second), so its CAF meets the server's answer first and keeps that
  /// connection. The highest node never waits, so waits cannot form a
  /// cycle.
  std::size_t outbound_pending = 0;
  std::vector<std::function<void()>> held_back;
  bool hold_inbound(const node_bytes& peer) const;
  void release_held();

  std::size_t max_queued() const;
  std::size_t max_pending() const;
  /// Closes the connections holding most while all hold too much.
  void check_memory();
};

/// Starts a connection accepted by our acceptor (counted already).
void start_inbound(std::shared_ptr<front_core> core,
                   boost::asio::ip::tcp::socket socket, std::string peer);

/// Starts a connection we opened to `peer` (counted already); `reply` gets
/// the peer's face or why not by `deadline`.
void start_outbound(std::shared_ptr<front_core> core,
                    boost::asio::ip::tcp::socket socket, std::string peer,
                    std::uint16_t port, steady::time_point deadline,
                    std::shared_ptr<connect_reply> reply);

} // namespace dlt::net
