#pragma once
// BASP, the wire protocol of CAF 0.17's middleman, as the front reads it:
// frame headers, message ids, node ids and the serialized values our
// messages are made of. Plain functions over bytes: no I/O, no CAF. The
// layout is CAF 0.17.6's private serialization (big-endian integers,
// varint lengths, type-name strings); tests/unit/test_front_rules.cpp
// pins it by feeding frames serialized by CAF itself through these parsers,
// so a CAF that writes differently fails a test instead of slipping past.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace dlt::net {

/// Every frame starts with a header of this many bytes.
constexpr std::size_t header_size = 32;

/// BASP's message types (the header's first byte).
enum class op : std::uint8_t {
  server_handshake = 0,
  client_handshake = 1,
  direct = 2,
  routed = 3,
  monitor = 4,
  down = 5,
  heartbeat = 6,
};

/// Header flags.
constexpr std::uint8_t named_receiver_flag = 0x01;
constexpr std::uint8_t select_connection_flag = 0x02;

/// The BASP version CAF 0.17 writes into its server handshake.
constexpr std::uint64_t basp_version = 3;

struct header {
  std::uint8_t operation = 0;
  std::uint8_t padding1 = 0;
  std::uint8_t padding2 = 0;
  std::uint8_t flags = 0;
  std::uint32_t payload_len = 0;
  std::uint64_t op_data = 0; // the message id of direct messages
  std::uint64_t source = 0;  // actor ids
  std::uint64_t dest = 0;    // (an atom with named_receiver_flag)
};

/// Decodes 32 bytes.
header read_header(const unsigned char* p);
/// Encodes into 32 bytes.
void write_header(const header& h, unsigned char* out);

// -- message ids (op_data of direct messages) --------------------------------------

constexpr std::uint64_t response_flag = 1ull << 63;
constexpr std::uint64_t answered_flag = 1ull << 62;
/// 0: high priority, 1: normal, 2 and 3: stream traffic.
constexpr std::uint64_t mid_category(std::uint64_t mid) { return (mid >> 60) & 3; }
/// 0 for an asynchronous message.
constexpr std::uint64_t mid_request_id(std::uint64_t mid) {
  return mid & ((1ull << 60) - 1);
}

// -- node ids ----------------------------------------------------------------------

/// A serialized node id of CAF's default kind: the atom "default", a
/// process id and a 20-byte host hash.
constexpr std::size_t node_size = 32;
using node_bytes = std::array<unsigned char, node_size>;

/// The atom CAF writes for its default node ids.
constexpr std::uint64_t default_node_atom = 0x3e9aab9bac79;

/// Whether 32 bytes are a default node id (the only kind CAF 0.17 makes).
bool is_default_node(const unsigned char* p);

// -- reading serialized values ---------------------------------------------------

/// Reads serialized values from a payload, never past its end; every read
/// fails (returns false) rather than run over.
class reader {
public:
  reader(const unsigned char* p, std::size_t n) : p_(p), end_(p + n) {}

  bool u8(std::uint8_t& x);
  bool u16(std::uint16_t& x);
  bool u32(std::uint32_t& x);
  bool u64(std::uint64_t& x);
  /// A length: 7 bits a byte, least significant first, at most 32 bits.
  bool varint(std::uint32_t& x);
  /// A string of at most `max` bytes.
  bool string(std::string_view& s, std::size_t max);
  /// A node id of the default kind.
  bool node(const unsigned char*& at);
  bool skip(std::size_t n);

  std::size_t left() const { return static_cast<std::size_t>(end_ - p_); }
  bool at_end() const { return p_ == end_; }
  const unsigned char* position() const { return p_; }

private:
  const unsigned char* p_;
  const unsigned char* end_;
};

/// The start of a direct message's payload: an empty forwarding stack,
/// CAF's object marker (u16 0) and the type names ("@<>+@atom+..."). Fails
/// for a non-empty stack (routing through other nodes) or a long type list.
bool read_message_start(reader& r, std::string_view& types);

} // namespace dlt::net
