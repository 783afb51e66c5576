#pragma once
// What the front lets through one native connection, in both directions:
// a judge of BASP frames with the connection's state (handshake, the
// peer's identity, our requests awaiting answers, the peer's requests we
// have not answered yet). No I/O: the session (net/session.cpp) reads a
// header, asks peer_header() how many payload bytes may follow, reads
// them, asks peer_frame() whether the frame goes on to CAF, is dropped, or
// closes the connection; frames CAF writes go through local_frame().
//
// The rules, for frames from the peer (basp.md sections 4 and 8):
//  - The handshake comes first and once: an inbound connection opens with
//    the peer's client handshake (its node id, not ours), an outbound one
//    with the server handshake of the node we called (BASP version 3, a
//    published actor). Nothing else before it; a second client handshake
//    may only select this connection for the same node.
//  - Sizes are decided from the header, before anything is allocated:
//    answers to our own `blocks` requests may be up to max_message bytes;
//    everything a peer sends unasked is small.
//  - Direct messages go to our face only (no other actor id, no registry
//    name: named-receiver frames are dropped, too many close), come from
//    one actor of the peer (its face), carry no forwarding stack and no
//    stream traffic, and have exactly the shape of one of our messages:
//    the type names and first atom of head / blocks / info requests, hello
//    and announce, with bounded counts and nothing trailing; answers only
//    to requests we sent, each once, of the type that request expects.
//  - Routed messages close the connection (no multi-hop here). Monitor and
//    down messages must name the peer's node and ours.
//  - The peer may have at most max_inflight requests we have not answered;
//    the session stops reading until answers go out.
// Frames from CAF: named-receiver frames (CAF's SpawnServ probe) and
// anything not sent by our face are dropped; our requests are remembered
// with what their answers may be.
//
// Node ids: CAF keeps state per node id for ever (a helper per node it
// learns), so it never sees the ids peers claim. map_node gives each
// claimed id a stand-in from a bounded pool (see front.cpp); the rules
// swap ids in handshakes, monitor and down messages both ways.

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "net/basp.hpp"

namespace dlt::net {

struct frame_limits {
  /// Answers to our blocks requests (--max-native-message-bytes).
  std::uint32_t max_message = 64u << 20;
  /// Anything a peer sends unasked: requests, announcements.
  std::uint32_t max_request = 64u << 10;
  /// Handshakes, monitor and down messages, small answers, errors.
  std::uint32_t max_control = 4u << 10;
  /// The peer's requests not answered yet.
  std::size_t max_inflight = 64;
  /// Our requests remembered (the oldest is forgotten beyond).
  std::size_t max_outstanding = 1024;
  /// Named-receiver frames dropped before the connection is closed (every
  /// stock CAF node sends one per connection).
  std::size_t max_named = 8;
  /// Entries in a block locator, characters of a hash, of an address.
  std::size_t max_locator = 256;
  std::size_t max_hash_chars = 128;
  std::size_t max_info_chars = 1024;
};

enum class verdict { forward, drop, close };

struct judgement {
  verdict what = verdict::forward;
  std::string why; // for close (and drop): what was wrong

  static judgement ok() { return {}; }
  static judgement drop(std::string why) { return {verdict::drop, std::move(why)}; }
  static judgement close(std::string why) { return {verdict::close, std::move(why)}; }
};

/// Stand-in node id for the id a peer claims, or nothing to refuse it.
using node_mapper = std::function<std::optional<node_bytes>(const node_bytes&)>;

class connection_rules {
public:
  enum class side { inbound, outbound };

  connection_rules(side s, const node_bytes& ours, std::uint64_t our_face,
                   frame_limits limits, node_mapper map_node);

  /// A header from the peer, before its payload: close, drop (the payload
  /// is read and discarded), or forward (it is read and judged).
  judgement peer_header(const header& h);
  /// A whole frame from the peer (after forward from peer_header); may
  /// rewrite node ids in the payload.
  judgement peer_frame(const header& h, unsigned char* payload, std::size_t n);
  /// A frame CAF wrote for the peer; may rewrite node ids.
  judgement local_frame(const header& h, unsigned char* payload, std::size_t n);

  /// The peer's handshake was accepted.
  bool established() const { return established_; }
  /// The node id the peer claimed (valid once established).
  const node_bytes& peer_node() const { return real_; }
  /// Whether the next frame may be read (the peer has room for requests).
  bool may_read() const { return inflight_.size() < limits_.max_inflight; }
  std::size_t inflight() const { return inflight_.size(); }
  std::size_t outstanding() const { return outstanding_.size(); }

private:
  enum class kind : std::uint8_t { head, blocks, info };
  struct expected_answer {
    kind what;
    std::uint64_t max = 0; // blocks asked for
  };

  judgement handshake_header(const header& h);
  judgement handshake_frame(const header& h, unsigned char* p, std::size_t n);
  judgement direct_header(const header& h);
  judgement direct_frame(const header& h, const unsigned char* p, std::size_t n);
  judgement answer_frame(const header& h, const unsigned char* p, std::size_t n);
  judgement adopt_node(unsigned char* at);
  bool swap_node(unsigned char* at, const node_bytes& from,
                 const node_bytes& to) const;
  void remember_request(const header& h, const unsigned char* p, std::size_t n);

  side side_;
  node_bytes ours_;
  std::uint64_t face_;
  frame_limits limits_;
  node_mapper map_node_;

  bool established_ = false;
  bool selected_ = false;      // the second client handshake came
  bool server_hs_seen_ = false; // ours, written by CAF (inbound)
  node_bytes real_{};          // the peer's node id, as claimed
  node_bytes mapped_{};        // what CAF knows it as
  std::uint64_t peer_actor_ = 0; // the one actor of the peer that talks
  std::size_t named_ = 0;

  // Our requests: response id -> what the answer may be.
  std::unordered_map<std::uint64_t, expected_answer> outstanding_;
  std::deque<std::uint64_t> outstanding_order_;
  // The peer's requests not answered yet, by response id.
  std::unordered_set<std::uint64_t> inflight_;
};

} // namespace dlt::net
