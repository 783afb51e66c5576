#include "model/sha256.hpp"

#include <cryptopp/sha.h>

namespace dlt {

std::string sha256_hex(std::string_view bytes) {
  CryptoPP::byte digest[CryptoPP::SHA256::DIGESTSIZE];
  CryptoPP::SHA256 hash;
  hash.CalculateDigest(digest,
                       reinterpret_cast<const CryptoPP::byte*>(bytes.data()),
                       bytes.size());
  static constexpr char hex[] = "0123456789abcdef";
  std::string out(2 * sizeof digest, '\0');
  for (std::size_t i = 0; i < sizeof digest; ++i) {
    out[2 * i] = hex[digest[i] >> 4];
    out[2 * i + 1] = hex[digest[i] & 0xF];
  }
  return out;
}

} // namespace dlt

namespace dlt {

namespace {

/// Hex digit values; -1 for anything else (uppercase included: hashes are
/// lowercase, as Python's hexdigest writes them).
struct hex_table {
  std::int8_t value[256];
  constexpr hex_table() : value{} {
    for (int i = 0; i < 256; ++i)
      value[i] = -1;
    for (int i = 0; i < 10; ++i)
      value['0' + i] = static_cast<std::int8_t>(i);
    for (int i = 0; i < 6; ++i)
      value['a' + i] = static_cast<std::int8_t>(10 + i);
  }
};

constexpr hex_table hex_digits{};

} // namespace

std::optional<digest> digest_from_hex(std::string_view hex) {
  if (hex.size() != 64)
    return std::nullopt;
  digest out;
  int bad = 0;
  for (std::size_t i = 0; i < out.size(); ++i) {
    int hi = hex_digits.value[static_cast<unsigned char>(hex[2 * i])];
    int lo = hex_digits.value[static_cast<unsigned char>(hex[2 * i + 1])];
    bad |= hi | lo; // negative once any digit is not one
    out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  if (bad < 0)
    return std::nullopt;
  return out;
}

} // namespace dlt
