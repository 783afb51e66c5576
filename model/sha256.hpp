#pragma once
// SHA-256 (Crypto++) as the lowercase hex digest Python's hexdigest() gives.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dlt {

/// Lowercase hex SHA-256 of `bytes`: 64 characters.
std::string sha256_hex(std::string_view bytes);

/// A SHA-256 digest as 32 bytes (a third of its hex text in memory).
using digest = std::array<std::uint8_t, 32>;

/// Writes `d` as 64 lowercase hex digits at `text` (no terminator).
void digest_hex(const std::uint8_t* d, char* text);

/// `d` as 64 lowercase hex digits.
std::string digest_hex(const digest& d);

/// The digest `hex` spells in 64 lowercase hex digits, or nothing when it
/// is not such a text.
std::optional<digest> digest_from_hex(std::string_view hex);

} // namespace dlt
