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

std::optional<digest> digest_from_hex(std::string_view hex) {
  if (hex.size() != 64)
    return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9')
      return c - '0';
    if (c >= 'a' && c <= 'f')
      return c - 'a' + 10;
    return -1;
  };
  digest out;
  for (std::size_t i = 0; i < out.size(); ++i) {
    int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return std::nullopt;
    out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return out;
}

} // namespace dlt
