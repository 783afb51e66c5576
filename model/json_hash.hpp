#pragma once
// SHA-256 as blocks are hashed, with one state reused per reader: building
// a Crypto++ state per block costs as much as hashing a small block.
// Internal to model/ (json_blocks.cpp, json_chain_reader.cpp).

#include <string>
#include <string_view>

#include <cryptopp/sha.h>

#include "model/hash_text.hpp"
#include "model/sha256.hpp"

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
    digest_hex(digest, text);
  }

private:
  CryptoPP::SHA256 sha_;
};

inline hasher& thread_hasher() {
  thread_local hasher h;
  return h;
}

} // namespace dlt::json_detail
