// The front's rules (net/rules.hpp) against frames serialized by CAF itself:
// every message of our protocol passes as CAF 0.17 writes it (so a CAF
// that writes differently fails here, not silently in the field), and
// everything else a peer could send is refused before it reaches CAF.

#include <catch2/catch.hpp>

#include <cstring>
#include <set>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/exit_reason.hpp>
#include <caf/make_message.hpp>
#include <caf/sec.hpp>

#include "actors/spawn.hpp"
#include "net/core.hpp"
#include "net/rules.hpp"

using namespace dlt::net;
using side = connection_rules::side;

namespace {

constexpr std::uint64_t face = 9;        // our face's actor id
constexpr std::uint64_t peer_face = 41;  // the peer's
constexpr std::uint64_t request = 0x1000000000000002; // CAF's first request id
constexpr std::uint64_t async = 0x1000000000000000;

struct wire {
  caf::actor_system_config cfg;
  caf::actor_system sys;

  wire() : sys((dlt::configure_native(cfg), cfg)) {}

  /// A direct message's payload as CAF writes it: the forwarding stack,
  /// then the message.
  template <class... Ts>
  std::vector<unsigned char> message(Ts&&... xs) {
    std::vector<char> buf;
    caf::binary_serializer sink{sys, buf};
    std::vector<caf::strong_actor_ptr> stack;
    auto msg = caf::make_message(std::forward<Ts>(xs)...);
    REQUIRE(!sink(stack, msg));
    return {buf.begin(), buf.end()};
  }

  /// Any values, serialized one after the other.
  template <class... Ts>
  std::vector<unsigned char> values(Ts&&... xs) {
    std::vector<char> buf;
    caf::binary_serializer sink{sys, buf};
    REQUIRE(!sink(xs...));
    return {buf.begin(), buf.end()};
  }

  node_bytes our_node() {
    auto v = values(sys.node());
    node_bytes n{};
    REQUIRE(v.size() == node_size);
    std::copy(v.begin(), v.end(), n.begin());
    return n;
  }
};

node_bytes some_node(unsigned char seed) {
  node_bytes n{};
  auto atom = default_node_atom;
  for (int i = 7; i >= 0; --i, atom >>= 8)
    n[i] = static_cast<unsigned char>(atom & 0xff);
  for (std::size_t i = 8; i < node_size; ++i)
    n[i] = static_cast<unsigned char>(seed + i);
  return n;
}

header direct(std::uint64_t mid, std::uint64_t src, std::uint64_t dst,
              std::size_t len) {
  header h;
  h.operation = static_cast<std::uint8_t>(op::direct);
  h.op_data = mid;
  h.source = src;
  h.dest = dst;
  h.payload_len = static_cast<std::uint32_t>(len);
  return h;
}

/// Judges a whole frame from the peer: its header, then (unless refused)
/// the frame.
verdict from_peer(connection_rules& r, const header& h,
                  std::vector<unsigned char> payload) {
  auto j = r.peer_header(h);
  if (j.what != verdict::forward)
    return j.what;
  return r.peer_frame(h, payload.data(), payload.size()).what;
}

verdict from_peer(connection_rules& r, std::uint64_t mid, std::uint64_t src,
                  std::vector<unsigned char> payload) {
  auto h = direct(mid, src, face, payload.size());
  return from_peer(r, h, std::move(payload));
}

verdict from_caf(connection_rules& r, const header& h,
                 std::vector<unsigned char> payload) {
  return r.local_frame(h, payload.data(), payload.size()).what;
}

/// An inbound connection past the peer's handshake (claiming `peer`).
connection_rules inbound(wire& w, const node_bytes& peer, frame_limits l = {}) {
  connection_rules r{side::inbound, w.our_node(), face, l, nullptr};
  header h;
  h.operation = static_cast<std::uint8_t>(op::client_handshake);
  h.payload_len = node_size;
  std::vector<unsigned char> p(peer.begin(), peer.end());
  REQUIRE(from_peer(r, h, p) == verdict::forward);
  REQUIRE(r.established());
  return r;
}

} // namespace

TEST_CASE("our messages pass as CAF writes them") {
  wire w;
  auto peer = some_node(1);
  auto r = inbound(w, peer);
  CHECK(from_peer(r, request, peer_face, w.message(dlt::head_atom::value))
        == verdict::forward);
  CHECK(from_peer(r, request + 1, peer_face, w.message(dlt::info_atom::value))
        == verdict::forward);
  CHECK(from_peer(r, async, peer_face, w.message(dlt::hello_atom::value))
        == verdict::forward);
  CHECK(from_peer(r, async, peer_face,
                  w.message(dlt::announce_atom::value, std::uint64_t{7},
                            std::string(64, 'a')))
        == verdict::forward);
  CHECK(from_peer(r, request + 2, peer_face,
                  w.message(dlt::blocks_atom::value,
                            std::vector<std::uint64_t>{9, 8, 4, 1},
                            std::vector<std::string>(4, std::string(64, 'b')),
                            std::uint64_t{100000}))
        == verdict::forward);
  CHECK(r.inflight() == 3); // head, info, blocks: not answered yet
}

TEST_CASE("answers pass only for our requests, once, of the expected type") {
  wire w;
  auto peer = some_node(2);
  auto r = inbound(w, peer);
  const std::uint64_t answer = request | response_flag;
  // Nothing asked yet: a small answer is dropped, a large one closes.
  CHECK(from_peer(r, answer, peer_face,
                  w.message(std::uint64_t{3}, std::string{"x"}))
        == verdict::drop);
  CHECK(r.peer_header(direct(answer, peer_face, face, 1 << 20)).what
        == verdict::close);

  // We ask for at most 2 blocks.
  auto ask = w.message(dlt::blocks_atom::value, std::vector<std::uint64_t>{1},
                       std::vector<std::string>{std::string(64, 'c')},
                       std::uint64_t{2});
  CHECK(from_caf(r, direct(request, face, peer_face, ask.size()), ask)
        == verdict::forward);
  CHECK(r.outstanding() == 1);
  // Up to max_message may be announced for it, not more.
  CHECK(r.peer_header(direct(answer, peer_face, face, 60u << 20)).what
        == verdict::forward);
  CHECK(r.peer_header(direct(answer, peer_face, face, (64u << 20) + 1)).what
        == verdict::close);
  CHECK(r.peer_header(direct(answer, peer_face, face, 0xffffffffu)).what
        == verdict::close);
  SECTION("three blocks for two asked close") {
    CHECK(from_peer(r, answer, peer_face,
                    w.message(std::uint64_t{1},
                              std::vector<std::string>{"{}", "{}", "{}"}))
          == verdict::close);
  }
  SECTION("a head answer to a blocks request closes") {
    CHECK(from_peer(r, answer, peer_face,
                    w.message(std::uint64_t{1}, std::string(64, 'd')))
          == verdict::close);
  }
  SECTION("the right answer passes once") {
    auto ok = w.message(std::uint64_t{1}, std::vector<std::string>{"{}", "{}"});
    CHECK(from_peer(r, answer, peer_face, ok) == verdict::forward);
    CHECK(r.outstanding() == 0);
    CHECK(from_peer(r, answer, peer_face, ok) == verdict::drop);
  }
  SECTION("an error answers any request") {
    auto err = w.message(caf::make_error(caf::sec::invalid_argument, "no"));
    CHECK(from_peer(r, answer, peer_face, err) == verdict::forward);
    auto node_err = w.message(
      dlt::make_node_error(dlt::node_error::not_done, "busy"));
    CHECK(from_peer(r, answer, peer_face, node_err) == verdict::drop); // once
  }
  SECTION("an answer from another actor closes") {
    auto ok = w.message(std::uint64_t{1}, std::vector<std::string>{"{}"});
    CHECK(from_peer(r, async, peer_face, w.message(dlt::hello_atom::value))
          == verdict::forward); // pins the peer's face
    CHECK(from_peer(r, answer, peer_face + 1, ok) == verdict::close);
  }
}

TEST_CASE("head and info answers are small and typed") {
  wire w;
  auto r = inbound(w, some_node(3));
  auto ask_head = w.message(dlt::head_atom::value);
  auto ask_info = w.message(dlt::info_atom::value);
  CHECK(from_caf(r, direct(request, face, peer_face, ask_head.size()), ask_head)
        == verdict::forward);
  CHECK(from_caf(r, direct(request + 1, face, peer_face, ask_info.size()),
                 ask_info)
        == verdict::forward);
  CHECK(r.peer_header(direct(request | response_flag, peer_face, face, 5000))
          .what
        == verdict::close);
  CHECK(from_peer(r, request | response_flag, peer_face,
                  w.message(std::uint64_t{5}, std::string(64, 'e')))
        == verdict::forward);
  CHECK(from_peer(r, (request + 1) | response_flag, peer_face,
                  w.message(std::string{"127.0.0.1:8081"}))
        == verdict::forward);
}

TEST_CASE("nothing but the face, and only our message shapes, get through") {
  wire w;
  auto r = inbound(w, some_node(4));
  auto head = w.message(dlt::head_atom::value);
  SECTION("another actor id closes") {
    for (std::uint64_t dst : std::vector<std::uint64_t>{0, 1, 2, 3, face - 1, face + 1,
                              ~std::uint64_t{0}}) {
      auto h = direct(request, peer_face, dst, head.size());
      CHECK(r.peer_header(h).what == verdict::close);
    }
  }
  SECTION("registry names are dropped, then closed") {
    header h = direct(async, peer_face,
                      static_cast<std::uint64_t>(caf::atom("SpawnServ")), 100);
    h.flags = named_receiver_flag;
    for (int i = 0; i < 8; ++i)
      CHECK(r.peer_header(h).what == verdict::drop);
    CHECK(r.peer_header(h).what == verdict::close);
  }
  SECTION("a large put by name closes at once") {
    header h = direct(async, peer_face,
                      static_cast<std::uint64_t>(caf::atom("ConfigServ")),
                      10 << 20);
    h.flags = named_receiver_flag;
    CHECK(r.peer_header(h).what == verdict::close);
  }
  SECTION("messages the face does not serve close") {
    CHECK(from_peer(r, request, peer_face, w.message(dlt::pop_atom::value))
          == verdict::close);
    CHECK(from_peer(r, async, peer_face,
                    w.message(caf::exit_msg{caf::actor_addr{},
                                            caf::exit_reason::kill}))
          == verdict::close);
    CHECK(from_peer(r, async, peer_face,
                    w.message(caf::link_atom::value, caf::strong_actor_ptr{}))
          == verdict::close);
    // The old hello that carried a handle, and the internal handlers.
    CHECK(from_peer(r, async, peer_face,
                    w.message(dlt::hello_atom::value, caf::strong_actor_ptr{}))
          == verdict::close);
    CHECK(from_peer(r, request, peer_face,
                    w.message(dlt::head_atom::value, caf::strong_actor_ptr{},
                              std::uint64_t{1000}))
          == verdict::close);
    // SpawnServ's probe, had it been addressed by id.
    CHECK(from_peer(r, async, peer_face,
                    w.message(caf::sys_atom::value, caf::get_atom::value,
                              std::string{"info"}))
          == verdict::close);
  }
  SECTION("a request sent as an announcement (or the reverse) closes") {
    CHECK(from_peer(r, async, peer_face, w.message(dlt::head_atom::value))
          == verdict::close);
    CHECK(from_peer(r, request, peer_face, w.message(dlt::hello_atom::value))
          == verdict::close);
  }
  SECTION("anonymous messages, stream traffic and trailing bytes close") {
    CHECK(from_peer(r, request, 0, head) == verdict::close);
    CHECK(from_peer(r, 0x2000000000000002, peer_face, head) == verdict::close);
    auto longer = head;
    longer.push_back(0);
    CHECK(from_peer(r, request, peer_face, longer) == verdict::close);
    auto stack = head;
    stack[0] = 1; // a forwarding stack: routing through others
    CHECK(from_peer(r, request, peer_face, stack) == verdict::close);
  }
  SECTION("counts are bounded") {
    auto locator = [&](std::size_t n) {
      return w.message(dlt::blocks_atom::value, std::vector<std::uint64_t>(n, 1),
                       std::vector<std::string>(n, std::string(64, 'f')),
                       std::uint64_t{1});
    };
    CHECK(from_peer(r, request, peer_face, locator(256)) == verdict::forward);
    CHECK(from_peer(r, request + 1, peer_face, locator(257)) == verdict::close);
  }
  SECTION("amplification: a million empty strings never reach CAF") {
    auto many = w.message(dlt::blocks_atom::value, std::vector<std::uint64_t>{},
                          std::vector<std::string>(1000000),
                          std::uint64_t{1});
    CHECK(r.peer_header(direct(request, peer_face, face, many.size())).what
          == verdict::close);
  }
  SECTION("one peer actor only") {
    CHECK(from_peer(r, async, peer_face, w.message(dlt::hello_atom::value))
          == verdict::forward);
    CHECK(from_peer(r, request, peer_face + 1, head) == verdict::close);
  }
}

TEST_CASE("the handshake comes first, once, from another node") {
  wire w;
  auto ours = w.our_node();
  auto peer = some_node(5);
  header hs;
  hs.operation = static_cast<std::uint8_t>(op::client_handshake);
  hs.payload_len = node_size;
  std::vector<unsigned char> peer_bytes(peer.begin(), peer.end());
  connection_rules r{side::inbound, ours, face, {}, nullptr};
  SECTION("anything else first closes") {
    auto head = w.message(dlt::head_atom::value);
    CHECK(from_peer(r, direct(request, peer_face, face, head.size()), head)
          == verdict::close);
    header beat;
    beat.operation = static_cast<std::uint8_t>(op::heartbeat);
    CHECK(r.peer_header(beat).what == verdict::close);
    auto big = hs;
    big.payload_len = 0xffffffffu;
    CHECK(r.peer_header(big).what == verdict::close);
  }
  SECTION("our own node id closes") {
    std::vector<unsigned char> me(ours.begin(), ours.end());
    CHECK(from_peer(r, hs, me) == verdict::close);
  }
  SECTION("not a node id closes") {
    std::vector<unsigned char> junk(node_size, 0x41);
    CHECK(from_peer(r, hs, junk) == verdict::close);
  }
  SECTION("the repeat must select this connection for the same node") {
    REQUIRE(from_peer(r, hs, peer_bytes) == verdict::forward);
    auto again = hs;
    CHECK(r.peer_header(again).what == verdict::close); // flag missing
    again.flags = select_connection_flag;
    auto other = some_node(6);
    CHECK(from_peer(r, again, {other.begin(), other.end()}) == verdict::close);
  }
  SECTION("and only once") {
    REQUIRE(from_peer(r, hs, peer_bytes) == verdict::forward);
    auto again = hs;
    again.flags = select_connection_flag;
    CHECK(from_peer(r, again, peer_bytes) == verdict::forward);
    CHECK(r.peer_header(again).what == verdict::close);
  }
  SECTION("routed messages, unknown types and padding close") {
    REQUIRE(from_peer(r, hs, peer_bytes) == verdict::forward);
    header routed = direct(request, peer_face, face, 100);
    routed.operation = static_cast<std::uint8_t>(op::routed);
    CHECK(r.peer_header(routed).what == verdict::close);
    for (int t = 7; t < 256; t += 31) {
      header h;
      h.operation = static_cast<std::uint8_t>(t);
      CHECK(r.peer_header(h).what == verdict::close);
    }
    header padded;
    padded.operation = static_cast<std::uint8_t>(op::heartbeat);
    padded.padding1 = 1;
    CHECK(r.peer_header(padded).what == verdict::close);
  }
}

TEST_CASE("an outbound connection expects the server's handshake first") {
  wire w;
  auto ours = w.our_node();
  auto peer = some_node(7);
  auto hs_payload = [&](std::uint64_t aid) {
    std::vector<unsigned char> p(peer.begin(), peer.end());
    auto rest = w.values(std::vector<std::string>{"generic-caf-app"}, aid,
                         std::set<std::string>{});
    p.insert(p.end(), rest.begin(), rest.end());
    return p;
  };
  header hs;
  hs.operation = static_cast<std::uint8_t>(op::server_handshake);
  hs.op_data = basp_version;
  connection_rules r{side::outbound, ours, face, {}, nullptr};
  SECTION("accepted, and the published actor becomes the peer's face") {
    auto p = hs_payload(peer_face);
    hs.payload_len = static_cast<std::uint32_t>(p.size());
    CHECK(from_peer(r, hs, p) == verdict::forward);
    CHECK(r.established());
    auto hello = w.message(dlt::hello_atom::value);
    CHECK(from_peer(r, async, peer_face + 1, hello) == verdict::close);
  }
  SECTION("no published actor, or another version, closes") {
    auto p = hs_payload(0);
    hs.payload_len = static_cast<std::uint32_t>(p.size());
    CHECK(from_peer(r, hs, p) == verdict::close);
    connection_rules r2{side::outbound, ours, face, {}, nullptr};
    auto q = hs_payload(peer_face);
    hs.payload_len = static_cast<std::uint32_t>(q.size());
    hs.op_data = 2;
    CHECK(from_peer(r2, hs, q) == verdict::close);
  }
  SECTION("a client handshake instead closes") {
    header c;
    c.operation = static_cast<std::uint8_t>(op::client_handshake);
    c.payload_len = node_size;
    CHECK(from_peer(r, c, {peer.begin(), peer.end()}) == verdict::close);
  }
}

TEST_CASE("the peer's requests in flight are bounded") {
  wire w;
  frame_limits l;
  l.max_inflight = 3;
  auto r = inbound(w, some_node(8), l);
  auto head = w.message(dlt::head_atom::value);
  for (std::uint64_t i = 0; i < 3; ++i)
    REQUIRE(from_peer(r, request + i, peer_face, head) == verdict::forward);
  CHECK_FALSE(r.may_read());
  auto answer = w.message(std::uint64_t{1}, std::string(64, 'a'));
  CHECK(from_caf(r, direct(request | response_flag, face, peer_face,
                           answer.size()),
                 answer)
        == verdict::forward);
  CHECK(r.may_read());
  // The same request id twice closes.
  CHECK(from_peer(r, request + 1, peer_face, head) == verdict::close);
}

TEST_CASE("frames from CAF: probes by name and other senders are dropped") {
  wire w;
  auto r = inbound(w, some_node(9));
  auto probe = w.message(caf::sys_atom::value, caf::get_atom::value,
                         std::string{"info"});
  auto h = direct(async, 77, static_cast<std::uint64_t>(caf::atom("SpawnServ")),
                  probe.size());
  h.flags = named_receiver_flag;
  CHECK(from_caf(r, h, probe) == verdict::drop);
  auto hello = w.message(dlt::hello_atom::value);
  CHECK(from_caf(r, direct(async, 6, peer_face, hello.size()), hello)
        == verdict::drop);
  CHECK(from_caf(r, direct(async, face, peer_face, hello.size()), hello)
        == verdict::forward);
}

TEST_CASE("CAF sees stand-in node ids, and the peer its own") {
  wire w;
  auto ours = w.our_node();
  auto real = some_node(10);
  auto stand_in = some_node(99);
  connection_rules r{side::inbound, ours, face, {},
                     [&](const node_bytes&) { return stand_in; }};
  header hs;
  hs.operation = static_cast<std::uint8_t>(op::client_handshake);
  hs.payload_len = node_size;
  std::vector<unsigned char> p(real.begin(), real.end());
  REQUIRE(r.peer_header(hs).what == verdict::forward);
  REQUIRE(r.peer_frame(hs, p.data(), p.size()).what == verdict::forward);
  CHECK(std::equal(p.begin(), p.end(), stand_in.begin())); // CAF's view
  // The peer monitors our face: (its node, ours) -> (stand-in, ours).
  header mon;
  mon.operation = static_cast<std::uint8_t>(op::monitor);
  mon.dest = face;
  mon.payload_len = 2 * node_size;
  std::vector<unsigned char> m(real.begin(), real.end());
  m.insert(m.end(), ours.begin(), ours.end());
  REQUIRE(r.peer_header(mon).what == verdict::forward);
  CHECK(r.peer_frame(mon, m.data(), m.size()).what == verdict::forward);
  CHECK(std::equal(stand_in.begin(), stand_in.end(), m.begin()));
  // A monitor naming a third node closes.
  auto other = some_node(11);
  std::vector<unsigned char> m2(other.begin(), other.end());
  m2.insert(m2.end(), ours.begin(), ours.end());
  CHECK(r.peer_frame(mon, m2.data(), m2.size()).what == verdict::close);
  // CAF's down message for the peer: (ours, stand-in) -> (ours, its node).
  auto down = w.values(caf::error{caf::make_error(caf::exit_reason::user_shutdown)});
  std::vector<unsigned char> d(ours.begin(), ours.end());
  d.insert(d.end(), stand_in.begin(), stand_in.end());
  d.insert(d.end(), down.begin(), down.end());
  header dh;
  dh.operation = static_cast<std::uint8_t>(op::down);
  dh.source = face;
  dh.payload_len = static_cast<std::uint32_t>(d.size());
  CHECK(r.local_frame(dh, d.data(), d.size()).what == verdict::forward);
  CHECK(std::equal(real.begin(), real.end(), d.begin() + node_size));
}

TEST_CASE("the stand-in pool is bounded and reuses ids only after cooling") {
  node_pool pool{2, std::chrono::milliseconds(0)};
  auto a = pool.acquire(some_node(1));
  auto a2 = pool.acquire(some_node(1));
  auto b = pool.acquire(some_node(2));
  REQUIRE(a);
  REQUIRE(b);
  CHECK(*a == *a2); // one node, one stand-in
  CHECK(*a != *b);
  CHECK(!pool.acquire(some_node(3))); // full
  pool.release(some_node(2));
  CHECK(pool.acquire(some_node(3))); // cooled at once here
  node_pool slow{1, std::chrono::hours(1)};
  REQUIRE(slow.acquire(some_node(1)));
  slow.release(some_node(1));
  CHECK(!slow.acquire(some_node(2))); // still cooling
}
