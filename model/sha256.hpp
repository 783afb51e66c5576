#pragma once
// SHA-256 (Crypto++) as the lowercase hex digest Python's hexdigest() gives.

#include <string>
#include <string_view>

namespace dlt {

/// Lowercase hex SHA-256 of `bytes`: 64 characters.
std::string sha256_hex(std::string_view bytes);

} // namespace dlt
