#pragma once
// The canonical byte form of a JSON value: exactly what Python's
// json.dumps(value, sort_keys=True) produces, so that block hashes agree with
// Python nodes bit for bit. nlohmann's dump() differs (separators, raw UTF-8,
// float digits), hence this serializer.
//
// Rules: separators ", " and ": "; object keys in code point order (UTF-8
// byte order, which std::map already keeps); non-ASCII and control characters
// as \uXXXX in lowercase hex (surrogate pairs above U+FFFF); floats in
// Python's repr form; integers in decimal.

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace dlt {

/// Appends the canonical form of `value` to `out`.
void append_canonical(std::string& out, const nlohmann::json& value);

/// The canonical form of `value`.
std::string canonical(const nlohmann::json& value);

/// Appends a JSON string literal with Python's ensure_ascii escaping. Input is
/// UTF-8; a malformed sequence (never produced by parse_json) becomes U+FFFD.
void append_python_string(std::string& out, std::string_view utf8);

/// Appends a finite double as Python's repr() writes it: shortest round-trip
/// digits, fixed notation for decimal exponents -4..15 with ".0" on whole
/// numbers, otherwise "1e-05" / "1.5e+16".
void append_python_float(std::string& out, double value);

} // namespace dlt
