#pragma once
// String pieces shared by the canonical writer and the readers of canonical
// bytes: the run of bytes a canonical string keeps as they are, \uXXXX
// escapes, and decoding a canonical string back to its characters.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "model/json_out.hpp"

namespace dlt::json_detail {

/// True for the bytes a canonical string carries unescaped: printable ASCII
/// except '"' and '\'.
inline bool plain_byte(unsigned char c) {
  return c >= 0x20 && c < 0x7F && c != '"' && c != '\\';
}

/// The four hex digits at p (either case) as one UTF-16 unit; false when
/// one is not a hex digit.
inline bool read_hex4(const char* p, std::uint32_t& unit) {
  unit = 0;
  for (int i = 0; i < 4; ++i) {
    char c = p[i];
    std::uint32_t v;
    if (c >= '0' && c <= '9')
      v = static_cast<std::uint32_t>(c - '0');
    else if (c >= 'a' && c <= 'f')
      v = static_cast<std::uint32_t>(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F')
      v = static_cast<std::uint32_t>(c - 'A' + 10);
    else
      return false;
    unit = (unit << 4) | v;
  }
  return true;
}

#if defined(__SSE2__)
/// A bit for each of the 16 bytes at p that is not plain (see plain_byte).
/// SSE2 is part of x86-64, so no run-time dispatch is needed.
inline unsigned not_plain_mask(const char* p) {
  const __m128i space = _mm_set1_epi8(0x20);
  const __m128i del = _mm_set1_epi8(0x7F);
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  // Signed compare: bytes >= 0x80 are negative, so "< 0x20" catches them.
  __m128i bad = _mm_or_si128(
    _mm_or_si128(_mm_cmplt_epi8(v, space), _mm_cmpeq_epi8(v, del)),
    _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)));
  return static_cast<unsigned>(_mm_movemask_epi8(bad));
}
#endif

/// Copies the run of plain bytes at p to `out` and advances p past it.
inline void copy_plain_run(const char*& p, const char* end, out_buffer& out) {
#if defined(__SSE2__)
  // 16 bytes at a time: store them all, keep as many as are plain.
  while (end - p >= 16) {
    unsigned mask = not_plain_mask(p);
    std::memcpy(out.room(16), p, 16);
    if (mask == 0) {
      out.commit(16);
      p += 16;
      continue;
    }
    unsigned n = static_cast<unsigned>(__builtin_ctz(mask));
    out.commit(n);
    p += n;
    return;
  }
#endif
  const char* q = p;
  while (q < end && plain_byte(static_cast<unsigned char>(*q)))
    ++q;
  out.append(p, static_cast<std::size_t>(q - p));
  p = q;
}

/// The first byte at or after p that a canonical string does not carry as it
/// is (see plain_byte), or end.
inline const char* skip_plain_run(const char* p, const char* end) {
#if defined(__SSE2__)
  while (end - p >= 16) {
    unsigned mask = not_plain_mask(p);
    if (mask)
      return p + __builtin_ctz(mask);
    p += 16;
  }
#endif
  while (p < end && plain_byte(static_cast<unsigned char>(*p)))
    ++p;
  return p;
}

/// The first '"' or '\' at or after p, or end.
inline const char* find_quote_or_backslash(const char* p, const char* end) {
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  while (end - p >= 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(
      _mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash))));
    if (mask)
      return p + __builtin_ctz(mask);
    p += 16;
  }
#endif
  while (p < end && *p != '"' && *p != '\\')
    ++p;
  return p;
}

/// Writes "\uXXXX" (lowercase hex, as Python) to `dst`: 6 bytes.
inline void write_u_escape(char* dst, std::uint32_t unit) {
  static constexpr char hex[] = "0123456789abcdef";
  dst[0] = '\\';
  dst[1] = 'u';
  dst[2] = hex[(unit >> 12) & 0xF];
  dst[3] = hex[(unit >> 8) & 0xF];
  dst[4] = hex[(unit >> 4) & 0xF];
  dst[5] = hex[unit & 0xF];
}

/// Appends the canonical form of one character (a code point, or a lone
/// surrogate) as json.dumps writes it inside a string.
void append_canonical_char(out_buffer& out, std::uint32_t cp);

/// Decodes the inside of a canonical string (between the quotes) to its
/// characters as generalized UTF-8: lone surrogates become three-byte
/// sequences, so byte order is code point order, as Python sorts keys.
/// Returns false when `text` is not the inside of a canonical string.
bool decode_canonical_string(std::string_view text, std::string& out);

/// Where the canonical string that starts at p (at its opening quote) ends
/// (one past the closing quote), or nullptr when it does not end before end.
const char* skip_canonical_string(const char* p, const char* end);

} // namespace dlt::json_detail
