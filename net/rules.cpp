#include "net/rules.hpp"

#include <cstring>

#include "actors/actors.hpp"
#include "actors/spawn.hpp"

namespace dlt::net {
namespace {

// Our messages as CAF 0.17 names their types (see peer_actor).
constexpr std::string_view atom_only = "@<>+@atom";
constexpr std::string_view announce_types = "@<>+@atom+@u64+@str";
const std::string blocks_types =
  std::string{"@<>+@atom+"} + index_list_type_name + "+@strvec+@u64";
constexpr std::string_view head_answer = "@<>+@u64+@str";
constexpr std::string_view info_answer = "@<>+@str";
constexpr std::string_view blocks_answer = "@<>+@u64+@strvec";
constexpr std::string_view error_answer = "@<>+@error";

std::uint64_t atom_of(caf::atom_value a) {
  return static_cast<std::uint64_t>(a);
}

const std::uint64_t head = atom_of(head_atom::value);
const std::uint64_t blocks = atom_of(blocks_atom::value);
const std::uint64_t info = atom_of(info_atom::value);
const std::uint64_t hello = atom_of(hello_atom::value);
const std::uint64_t announce = atom_of(announce_atom::value);

std::string num(std::uint64_t x) {
  return std::to_string(x);
}

/// Type names shown in refusals, cut short.
std::string shown(std::string_view types) {
  std::string out;
  for (char c : types.substr(0, 80))
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  return "'" + out + (types.size() > 80 ? "...'" : "'");
}

/// A block locator: indexes, then as many hashes (the face checks they
/// pair up); returns the `max` that follows.
bool read_locator(reader& r, const frame_limits& l, std::uint64_t& max) {
  std::uint32_t n = 0;
  if (!r.varint(n) || n > l.max_locator || !r.skip(std::size_t{n} * 8))
    return false;
  std::uint32_t m = 0;
  if (!r.varint(m) || m > l.max_locator)
    return false;
  std::string_view s;
  for (std::uint32_t i = 0; i < m; ++i)
    if (!r.string(s, l.max_hash_chars))
      return false;
  return r.u64(max) && r.at_end();
}

/// An error: code, category and a context of plain values (no actors, no
/// nested messages: an answer cannot make us create proxies).
bool read_error(reader& r) {
  std::uint8_t code = 0;
  std::uint64_t category = 0;
  std::uint16_t zero = 1;
  std::string_view types;
  if (!r.u8(code) || !r.u64(category) || !r.u16(zero) || zero != 0
      || !r.string(types, 256))
    return false;
  if (types == "@<>")
    return true;
  if (types.substr(0, 4) != "@<>+")
    return false;
  types.remove_prefix(4);
  while (!types.empty()) {
    auto plus = types.find('+');
    auto t = types.substr(0, plus);
    types = plus == std::string_view::npos ? std::string_view{}
                                           : types.substr(plus + 1);
    std::string_view s;
    bool ok = t == "@str"                                  ? r.string(s, r.left())
              : t == "@atom" || t == "@u64" || t == "@i64" ? r.skip(8)
              : t == "@u32" || t == "@i32"                 ? r.skip(4)
              : t == "@u16" || t == "@i16"                 ? r.skip(2)
              : t == "@u8" || t == "@i8" || t == "bool"    ? r.skip(1)
                                                           : false;
    if (!ok)
      return false;
  }
  return true;
}

} // namespace

connection_rules::connection_rules(side s, const node_bytes& ours,
                                   std::uint64_t our_face, frame_limits limits,
                                   node_mapper map_node)
  : side_(s),
    ours_(ours),
    face_(our_face),
    limits_(limits),
    map_node_(std::move(map_node)) {
}

// -- from the peer -----------------------------------------------------------------

judgement connection_rules::peer_header(const header& h) {
  if (h.padding1 != 0 || h.padding2 != 0)
    return judgement::close("malformed header");
  if (h.operation > static_cast<std::uint8_t>(op::heartbeat))
    return judgement::close("unknown message type " + num(h.operation));
  if (!established_)
    return handshake_header(h);
  auto zero = h.op_data == 0 && h.source == 0 && h.dest == 0;
  switch (static_cast<op>(h.operation)) {
    case op::server_handshake:
      return judgement::close("a second server handshake");
    case op::client_handshake:
      if (side_ == side::outbound || selected_)
        return judgement::close("a repeated client handshake");
      if (h.flags != select_connection_flag || h.payload_len != node_size
          || !zero)
        return judgement::close("a malformed client handshake");
      return judgement::ok();
    case op::direct:
      return direct_header(h);
    case op::routed:
      return judgement::close("a routed message (this node relays nothing)");
    case op::monitor:
      if (h.flags != 0 || h.op_data != 0 || h.source != 0
          || h.payload_len != 2 * node_size)
        return judgement::close("a malformed monitor message");
      return judgement::ok();
    case op::down:
      if (h.flags != 0 || h.op_data != 0 || h.source == 0 || h.dest != 0
          || h.payload_len <= 2 * node_size
          || h.payload_len > limits_.max_control)
        return judgement::close("a malformed down message");
      return judgement::ok();
    case op::heartbeat:
      if (h.flags != 0 || !zero || h.payload_len != 0)
        return judgement::close("a malformed heartbeat");
      return judgement::ok();
  }
  return judgement::close("unknown message type");
}

judgement connection_rules::handshake_header(const header& h) {
  bool zero_ids = h.source == 0 && h.dest == 0 && h.flags == 0;
  if (side_ == side::inbound) {
    if (h.operation == static_cast<std::uint8_t>(op::client_handshake)
        && zero_ids && h.op_data == 0 && h.payload_len == node_size)
      return judgement::ok();
    return judgement::close("no client handshake first");
  }
  if (h.operation == static_cast<std::uint8_t>(op::server_handshake)
      && zero_ids && h.op_data == basp_version && h.payload_len > node_size
      && h.payload_len <= limits_.max_control)
    return judgement::ok();
  return judgement::close("no server handshake (BASP version 3) first");
}

judgement connection_rules::direct_header(const header& h) {
  if (h.flags & named_receiver_flag) {
    if (h.flags != named_receiver_flag || h.payload_len > limits_.max_control)
      return judgement::close("a malformed message addressed by name");
    if (++named_ > limits_.max_named)
      return judgement::close("too many messages addressed by name");
    return judgement::drop("addressed by name");
  }
  if (h.flags != 0)
    return judgement::close("a direct message with flags");
  if (h.dest != face_)
    return judgement::close("a message for actor " + num(h.dest)
                            + ", not this node's face");
  if (mid_category(h.op_data) > 1 || (h.op_data & answered_flag))
    return judgement::close("stream traffic or a malformed message id");
  if (h.payload_len == 0)
    return judgement::close("an empty direct message");
  if (h.op_data & response_flag) {
    if (h.source != 0 && peer_actor_ != 0 && h.source != peer_actor_)
      return judgement::close("an answer from actor " + num(h.source)
                              + ", not the peer's face");
    auto it = outstanding_.find(h.op_data);
    if (it == outstanding_.end()) {
      if (h.payload_len > limits_.max_control)
        return judgement::close("an unasked answer of " + num(h.payload_len)
                                + " bytes");
      return judgement::drop("an answer to no request of ours");
    }
    auto limit = it->second.what == kind::blocks ? limits_.max_message
                                                 : limits_.max_control;
    if (h.payload_len > limit)
      return judgement::close("an answer of " + num(h.payload_len)
                              + " bytes (at most " + num(limit) + ")");
    return judgement::ok();
  }
  if (h.source == 0)
    return judgement::close("an anonymous message");
  if (peer_actor_ != 0 && h.source != peer_actor_)
    return judgement::close("a message from actor " + num(h.source)
                            + ", not the peer's face");
  if (h.payload_len > limits_.max_request)
    return judgement::close("an unasked message of " + num(h.payload_len)
                            + " bytes (at most " + num(limits_.max_request)
                            + ")");
  return judgement::ok();
}

judgement connection_rules::peer_frame(const header& h, unsigned char* p,
                                       std::size_t n) {
  switch (static_cast<op>(h.operation)) {
    case op::client_handshake:
      if (!established_)
        return adopt_node(p);
      if (!swap_node(p, real_, mapped_))
        return judgement::close("a client handshake for another node");
      selected_ = true;
      return judgement::ok();
    case op::server_handshake: {
      reader r{p, n};
      const unsigned char* node = nullptr;
      std::uint32_t apps = 0;
      std::uint32_t sigs = 0;
      std::uint64_t aid = 0;
      std::string_view s;
      bool ok = r.node(node) && r.varint(apps) && apps <= 16;
      for (std::uint32_t i = 0; ok && i < apps; ++i)
        ok = r.string(s, 256);
      ok = ok && r.u64(aid) && aid != 0 && r.varint(sigs) && sigs <= 256;
      for (std::uint32_t i = 0; ok && i < sigs; ++i)
        ok = r.string(s, limits_.max_control);
      if (!ok || !r.at_end())
        return judgement::close("a malformed server handshake");
      peer_actor_ = aid;
      return adopt_node(p);
    }
    case op::direct:
      return direct_frame(h, p, n);
    case op::monitor:
      if (!swap_node(p, real_, mapped_)
          || std::memcmp(p + node_size, ours_.data(), node_size) != 0)
        return judgement::close("a monitor message naming other nodes");
      if (h.dest != face_)
        return judgement::drop("a monitor message for another actor");
      return judgement::ok();
    case op::down: {
      if (!swap_node(p, real_, mapped_)
          || std::memcmp(p + node_size, ours_.data(), node_size) != 0)
        return judgement::close("a down message naming other nodes");
      reader r{p + 2 * node_size, n - 2 * node_size};
      if (!read_error(r) || !r.at_end())
        return judgement::close("a malformed down message");
      return judgement::ok();
    }
    case op::heartbeat:
      return judgement::ok();
    default:
      return judgement::close("unexpected message type");
  }
}

judgement connection_rules::direct_frame(const header& h,
                                         const unsigned char* p,
                                         std::size_t n) {
  if (h.op_data & response_flag)
    return answer_frame(h, p, n);
  reader r{p, n};
  std::string_view types;
  std::uint64_t atom = 0;
  if (!read_message_start(r, types) || !r.u64(atom))
    return judgement::close("a malformed message");
  bool request = mid_request_id(h.op_data) != 0;
  bool ok = false;
  if (types == atom_only) {
    ok = r.at_end()
         && (((atom == head || atom == info) && request)
             || (atom == hello && !request));
  } else if (types == announce_types) {
    std::uint64_t index = 0;
    std::string_view hash;
    ok = atom == announce && !request && r.u64(index)
         && r.string(hash, limits_.max_hash_chars) && r.at_end();
  } else if (types == blocks_types) {
    std::uint64_t max = 0;
    ok = atom == blocks && request && read_locator(r, limits_, max);
  } else {
    return judgement::close("a message this node does not serve: "
                            + shown(types));
  }
  if (!ok)
    return judgement::close("a malformed " + shown(types) + " message");
  if (request && !inflight_.insert(h.op_data | response_flag).second)
    return judgement::close("a request id used twice");
  if (peer_actor_ == 0)
    peer_actor_ = h.source;
  return judgement::ok();
}

judgement connection_rules::answer_frame(const header& h,
                                         const unsigned char* p,
                                         std::size_t n) {
  auto it = outstanding_.find(h.op_data);
  if (it == outstanding_.end())
    return judgement::drop("an answer to no request of ours");
  auto expected = it->second;
  outstanding_.erase(it); // each request is answered once
  reader r{p, n};
  std::string_view types;
  if (!read_message_start(r, types))
    return judgement::close("a malformed answer");
  bool ok = false;
  if (types == error_answer) {
    ok = n <= limits_.max_control && read_error(r) && r.at_end();
  } else if (expected.what == kind::head && types == head_answer) {
    std::uint64_t height = 0;
    std::string_view tip;
    ok = r.u64(height) && r.string(tip, limits_.max_hash_chars) && r.at_end();
  } else if (expected.what == kind::info && types == info_answer) {
    std::string_view address;
    ok = r.string(address, limits_.max_info_chars) && r.at_end();
  } else if (expected.what == kind::blocks && types == blocks_answer) {
    std::uint64_t shared = 0;
    std::uint32_t count = 0;
    ok = r.u64(shared) && r.varint(count) && count <= expected.max;
    std::string_view block;
    for (std::uint32_t i = 0; ok && i < count; ++i)
      ok = r.string(block, r.left());
    ok = ok && r.at_end();
  } else {
    return judgement::close("an answer of type " + shown(types)
                            + " to another question");
  }
  if (!ok)
    return judgement::close("a malformed " + shown(types) + " answer");
  if (peer_actor_ == 0 && h.source != 0)
    peer_actor_ = h.source;
  return judgement::ok();
}

judgement connection_rules::adopt_node(unsigned char* at) {
  if (!is_default_node(at))
    return judgement::close("a handshake without a node id");
  if (std::memcmp(at, ours_.data(), node_size) == 0)
    return judgement::close("a handshake from this very node");
  std::memcpy(real_.data(), at, node_size);
  auto mapped = map_node_ ? map_node_(real_) : std::optional<node_bytes>{real_};
  if (!mapped)
    return judgement::close("too many peers at once; try again later");
  mapped_ = *mapped;
  std::memcpy(at, mapped_.data(), node_size);
  established_ = true;
  return judgement::ok();
}

bool connection_rules::swap_node(unsigned char* at, const node_bytes& from,
                                 const node_bytes& to) const {
  if (std::memcmp(at, from.data(), node_size) != 0)
    return false;
  std::memcpy(at, to.data(), node_size);
  return true;
}

// -- from CAF ----------------------------------------------------------------------

judgement connection_rules::local_frame(const header& h, unsigned char* p,
                                        std::size_t n) {
  switch (static_cast<op>(h.operation)) {
    case op::server_handshake: {
      reader r{p, n};
      const unsigned char* node = nullptr;
      std::uint32_t apps = 0;
      std::uint64_t aid = 0;
      std::string_view s;
      bool ok = r.node(node) && r.varint(apps);
      for (std::uint32_t i = 0; ok && i < apps; ++i)
        ok = r.string(s, 256);
      if (!ok || !r.u64(aid) || aid != face_)
        return judgement::close("CAF offered another actor than the face");
      server_hs_seen_ = true;
      return judgement::ok();
    }
    case op::client_handshake:
    case op::heartbeat:
      return judgement::ok();
    case op::direct:
      if (h.flags & named_receiver_flag)
        return judgement::drop("CAF's probe by name");
      if (h.source != face_ && h.source != 0)
        return judgement::drop("a message from actor " + num(h.source)
                               + ", not our face");
      if (h.op_data & response_flag)
        inflight_.erase(h.op_data);
      else if (mid_request_id(h.op_data) != 0)
        remember_request(h, p, n);
      return judgement::ok();
    case op::monitor:
    case op::down:
      if (!established_ || n < 2 * node_size
          || std::memcmp(p, ours_.data(), node_size) != 0
          || !swap_node(p + node_size, mapped_, real_))
        return judgement::drop("a monitor or down message for another node");
      return judgement::ok();
    default:
      return judgement::drop("a routed message");
  }
}

void connection_rules::remember_request(const header& h,
                                        const unsigned char* p,
                                        std::size_t n) {
  reader r{p, n};
  std::string_view types;
  std::uint64_t atom = 0;
  if (!read_message_start(r, types) || !r.u64(atom))
    return;
  expected_answer e{kind::head, 0};
  if (types == atom_only && atom == head)
    e.what = kind::head;
  else if (types == atom_only && atom == info)
    e.what = kind::info;
  else if (types == blocks_types && atom == blocks
           && read_locator(r, limits_, e.max))
    e.what = kind::blocks;
  else
    return; // not ours: whatever answers it is dropped
  auto key = h.op_data | response_flag;
  outstanding_[key] = e;
  outstanding_order_.push_back(key);
  if (outstanding_order_.size() > limits_.max_outstanding) {
    outstanding_.erase(outstanding_order_.front());
    outstanding_order_.pop_front();
  }
}

} // namespace dlt::net
