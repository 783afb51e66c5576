#pragma once
// SHA-256 as blocks are hashed, with one state reused per reader: building
// a Crypto++ state per block costs as much as hashing a small block.
// Internal to model/ (json_blocks.cpp, json_chain_reader.cpp).

#include <cstring>
#include <string>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h> // part of every x86-64
#endif

#include <cryptopp/sha.h>

#include "model/hash_text.hpp"

namespace dlt::json_detail {

/// Lowercase hex SHA-256, as sha256_hex, from a reused state.
class hasher {
public:
  std::string hex(std::string_view bytes) {
    char text[64];
    hex(bytes, text);
    return std::string(text, sizeof text);
  }

  /// Into a block's hash, with no allocation.
  void hex(std::string_view bytes, hash_text& out) {
    out.resize(64);
    hex(bytes, out.data());
  }

  void hex(std::string_view bytes, char* text) {
    CryptoPP::byte digest[CryptoPP::SHA256::DIGESTSIZE];
    sha_.CalculateDigest(digest,
                         reinterpret_cast<const CryptoPP::byte*>(bytes.data()),
                         bytes.size());
    to_hex(digest, text);
  }

  /// 32 bytes as 64 lowercase hex digits: 16 bytes at a time, each nibble
  /// plus '0', plus 39 more where it is above 9 ('a' - '0' - 10). A table
  /// lookup per byte was a tenth of reading a peer's chain.
  static void to_hex(const unsigned char* digest, char* text) {
#if defined(__SSE2__)
    const __m128i low_mask = _mm_set1_epi8(0x0F);
    const __m128i nine = _mm_set1_epi8(9);
    const __m128i zero_char = _mm_set1_epi8('0');
    const __m128i letter_gap = _mm_set1_epi8('a' - '0' - 10);
    for (int half = 0; half < 2; ++half) {
      __m128i bytes = _mm_loadu_si128(
        reinterpret_cast<const __m128i*>(digest + 16 * half));
      __m128i hi = _mm_and_si128(_mm_srli_epi16(bytes, 4), low_mask);
      __m128i lo = _mm_and_si128(bytes, low_mask);
      // Digit order: the high nibble of each byte first.
      __m128i first = _mm_unpacklo_epi8(hi, lo);
      __m128i second = _mm_unpackhi_epi8(hi, lo);
      auto chars = [&](__m128i v) {
        __m128i gap = _mm_and_si128(_mm_cmpgt_epi8(v, nine), letter_gap);
        return _mm_add_epi8(_mm_add_epi8(v, zero_char), gap);
      };
      _mm_storeu_si128(reinterpret_cast<__m128i*>(text + 32 * half),
                       chars(first));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(text + 32 * half + 16),
                       chars(second));
    }
#else
    static constexpr char digits[] = "0123456789abcdef";
    for (int i = 0; i < 32; ++i) {
      text[2 * i] = digits[digest[i] >> 4];
      text[2 * i + 1] = digits[digest[i] & 0xF];
    }
#endif
  }

private:
  CryptoPP::SHA256 sha_;
};

inline hasher& thread_hasher() {
  thread_local hasher h;
  return h;
}

} // namespace dlt::json_detail
