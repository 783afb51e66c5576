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
