#include "net/basp.hpp"

#include <cstring>

namespace dlt::net {
namespace {

std::uint64_t load_be(const unsigned char* p, int n) {
  std::uint64_t x = 0;
  for (int i = 0; i < n; ++i)
    x = (x << 8) | p[i];
  return x;
}

void store_be(std::uint64_t x, unsigned char* p, int n) {
  for (int i = n - 1; i >= 0; --i) {
    p[i] = static_cast<unsigned char>(x & 0xff);
    x >>= 8;
  }
}

/// Type lists of our messages are a few dozen bytes.
constexpr std::size_t max_type_names = 256;

} // namespace

header read_header(const unsigned char* p) {
  header h;
  h.operation = p[0];
  h.padding1 = p[1];
  h.padding2 = p[2];
  h.flags = p[3];
  h.payload_len = static_cast<std::uint32_t>(load_be(p + 4, 4));
  h.op_data = load_be(p + 8, 8);
  h.source = load_be(p + 16, 8);
  h.dest = load_be(p + 24, 8);
  return h;
}

void write_header(const header& h, unsigned char* out) {
  out[0] = h.operation;
  out[1] = h.padding1;
  out[2] = h.padding2;
  out[3] = h.flags;
  store_be(h.payload_len, out + 4, 4);
  store_be(h.op_data, out + 8, 8);
  store_be(h.source, out + 16, 8);
  store_be(h.dest, out + 24, 8);
}

bool is_default_node(const unsigned char* p) {
  return load_be(p, 8) == default_node_atom;
}

bool reader::u8(std::uint8_t& x) {
  if (left() < 1)
    return false;
  x = *p_++;
  return true;
}

bool reader::u16(std::uint16_t& x) {
  if (left() < 2)
    return false;
  x = static_cast<std::uint16_t>(load_be(p_, 2));
  p_ += 2;
  return true;
}

bool reader::u32(std::uint32_t& x) {
  if (left() < 4)
    return false;
  x = static_cast<std::uint32_t>(load_be(p_, 4));
  p_ += 4;
  return true;
}

bool reader::u64(std::uint64_t& x) {
  if (left() < 8)
    return false;
  x = load_be(p_, 8);
  p_ += 8;
  return true;
}

bool reader::varint(std::uint32_t& x) {
  std::uint64_t v = 0;
  for (int shift = 0; shift < 35; shift += 7) {
    if (at_end())
      return false;
    auto b = *p_++;
    v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      if (v > 0xffffffffu)
        return false;
      x = static_cast<std::uint32_t>(v);
      return true;
    }
  }
  return false; // more than five bytes: not a 32-bit length
}

bool reader::string(std::string_view& s, std::size_t max) {
  std::uint32_t n = 0;
  if (!varint(n) || n > max || n > left())
    return false;
  s = std::string_view(reinterpret_cast<const char*>(p_), n);
  p_ += n;
  return true;
}

bool reader::node(const unsigned char*& at) {
  if (left() < node_size || !is_default_node(p_))
    return false;
  at = p_;
  p_ += node_size;
  return true;
}

bool reader::skip(std::size_t n) {
  if (left() < n)
    return false;
  p_ += n;
  return true;
}

bool read_message_start(reader& r, std::string_view& types) {
  std::uint32_t stack = 0;
  std::uint16_t zero = 1;
  return r.varint(stack) && stack == 0 && r.u16(zero) && zero == 0
         && r.string(types, max_type_names);
}

} // namespace dlt::net
