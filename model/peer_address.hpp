#pragma once
// Peer addresses as users register them: "host:port" or "http://host:port"
// (optionally with a trailing "/"), both stored as "host:port". Unlike the
// reference under Python 3.9+, "localhost:8082" stays "localhost:8082".
// "caf://host:port" is a dlt-node linked natively (CAF remote actors); it
// keeps its scheme.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dlt {

struct peer_address {
  /// Host name, IPv4 address, or IPv6 address without brackets.
  std::string host;
  std::uint16_t port = 80;
  /// Linked over CAF (caf://), not HTTP.
  bool native = false;
  /// How the peer is listed in total_nodes: "host:port" ([v6]:port), or
  /// "caf://host:port" for a native peer.
  std::string text;
};

/// The normalized address, or nothing when `input` is not a peer address
/// (empty, other scheme, user info, path, bad host or port; a caf:// address
/// without a port).
std::optional<peer_address> parse_peer_address(std::string_view input);

} // namespace dlt
