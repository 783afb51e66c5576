#pragma once
// The front: every native connection of the node goes through it, inbound
// and outbound, plain or TLS. CAF's middleman never faces the network (no
// doorman, no loopback listener): per connection the front makes a
// socketpair and hands one end to CAF's BASP broker as if it were the
// connection, then relays frames between the peer and that end, judging
// every one (net/rules.hpp) before it is read whole, and closing the
// connection on the first violation. See README, "Linking nodes natively",
// and the rules in net/rules.hpp.
//
// Bounds it keeps: connections (inbound and outbound together, each
// costing three descriptors; pending handshakes a quarter of them), a
// handshake deadline (TLS included), an idle deadline, the bytes queued for
// a peer that does not read, frames and bytes per second per connection
// and in all, and the memory all connections' buffers may hold together.
// It always reads CAF's end, so CAF's own buffers never grow for a slow
// peer.
//
// All connections run on one thread of the front's own; the actor system
// and HTTP never wait for it.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <caf/fwd.hpp>

#include "actors/actors.hpp"
#include "net/rules.hpp"
#include "net/tls.hpp"

namespace dlt::net {

struct front_settings {
  frame_limits limits;
  /// Native connections at once, inbound and outbound
  /// (--max-native-connections); beyond, new ones are closed at once.
  std::size_t max_connections = 256;
  /// From accept (or connect) to the peer's BASP handshake, TLS included.
  std::chrono::milliseconds handshake_timeout{5000};
  /// A connection silent this long is closed (CAF's heartbeats keep linked
  /// peers busy every second).
  std::chrono::milliseconds idle_timeout{30000};
  /// Bytes waiting for one peer to read them; 0: limits.max_message.
  std::size_t max_queued_bytes = 0;
  /// Bytes all connections' buffers may hold together (frames being read,
  /// frames waiting for their peer); beyond, the connection holding most
  /// is closed. 0: 4 x limits.max_message.
  std::size_t max_memory = 0;
  /// Frames per second from one peer, and from all together; a peer over
  /// its budget is read more slowly.
  double frames_per_second = 5000;
  double frames_per_second_all = 50000;
  /// New inbound connections a second (a TLS handshake costs a signature);
  /// beyond, they are closed at once.
  double accepts_per_second = 200;
  /// Mutual TLS on every connection when set.
  std::optional<tls_files> tls;
};

/// What the front has seen (for tests and logs).
struct front_stats {
  std::size_t connections = 0; // open now
  std::size_t pending = 0;     // inbound, handshake not done yet
  std::uint64_t accepted = 0;  // inbound connections taken
  std::uint64_t refused = 0;   // inbound connections closed at once (limits)
  std::uint64_t violations = 0; // connections closed for breaking a rule
  std::size_t held_bytes = 0;  // in all buffers now
};

class front_core;

class front {
public:
  /// Starts the front's thread. With settings.tls, the files are loaded
  /// and checked first: null and `error` set when they are not usable.
  static std::shared_ptr<front> start(caf::actor_system& sys,
                                      front_settings settings,
                                      std::string& error);
  ~front();

  /// Our face: the only actor peers may address, the one published.
  /// Links asked for before it is set wait for it.
  void set_face(const caf::strong_actor_ptr& face);

  /// Accepts native peers on host:port (0: any free port); the port, or
  /// nothing and `error` set.
  std::optional<std::uint16_t> listen(const std::string& host,
                                      std::uint16_t port, std::string& error);

  /// Opens native connections through the front (plain or TLS, as set up)
  /// and hands back the peer's face; for node_settings::connect.
  native_connector connector();

  /// Closes every connection and stops the thread (also done by the
  /// destructor). Links asked for afterwards fail.
  void stop();

  front_stats stats();

private:
  explicit front(std::shared_ptr<front_core> core);
  std::shared_ptr<front_core> core_;
};

} // namespace dlt::net
