#pragma once
// Reading canonical bytes (what canonicalizer writes, what blocks hold)
// without parsing them again: their form is fixed (", " and ": " between
// items, no other whitespace), so finding where a value ends is a scan for
// brackets outside strings. Used to check a block's shape and to list its
// transactions. Every function is safe on any bytes: what is not canonical
// is reported, never read past.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "model/block.hpp"
#include "model/json_canonicalizer.hpp"

namespace dlt::json_detail {

/// One past the canonical value that starts at p, or nullptr.
const char* skip_canonical_value(const char* p, const char* end);

/// Calls f(key, value) for each member of the canonical object `object`
/// (key with its quotes, as written); stops early when f returns false.
/// False when `object` is not a canonical object or f returned false.
template <class F>
bool for_each_member(std::string_view object, F&& f) {
  const char* p = object.data();
  const char* end = p + object.size();
  if (p == end || *p != '{')
    return false;
  ++p;
  if (p < end && *p == '}')
    return p + 1 == end;
  for (;;) {
    if (p == end || *p != '"')
      return false;
    const char* key_end = skip_canonical_value(p, end);
    if (!key_end || end - key_end < 2 || key_end[0] != ':' || key_end[1] != ' ')
      return false;
    const char* v = key_end + 2;
    const char* v_end = skip_canonical_value(v, end);
    if (!v_end)
      return false;
    if (!f(std::string_view(p, static_cast<std::size_t>(key_end - p)),
           std::string_view(v, static_cast<std::size_t>(v_end - v))))
      return false;
    p = v_end;
    if (p < end && *p == '}')
      return p + 1 == end;
    if (end - p < 2 || p[0] != ',' || p[1] != ' ')
      return false;
    p += 2;
  }
}

/// As for_each_member, for the elements of the canonical array `array`.
template <class F>
bool for_each_element(std::string_view array, F&& f) {
  const char* p = array.data();
  const char* end = p + array.size();
  if (p == end || *p != '[')
    return false;
  ++p;
  if (p < end && *p == ']')
    return p + 1 == end;
  for (;;) {
    const char* v_end = skip_canonical_value(p, end);
    if (!v_end)
      return false;
    if (!f(std::string_view(p, static_cast<std::size_t>(v_end - p))))
      return false;
    p = v_end;
    if (p < end && *p == ']')
      return p + 1 == end;
    if (end - p < 2 || p[0] != ',' || p[1] != ' ')
      return false;
    p += 2;
  }
}

/// Reads a whole document (an optional UTF-8 byte order mark, whitespace,
/// one value, whitespace) into `parser`'s output. False: parser.error().
bool read_document(canonicalizer& parser, std::string_view text,
                   const json_rules& rules, bool keep_output = true);

/// Checks the shape of a block's canonical bytes (as block_from_json does):
/// why it is not a block, or nothing after setting b.index and
/// b.previous_hash.
std::optional<std::string> check_block(std::string_view json, block& b);

/// True when the canonical value is a string / an integer.
inline bool is_string(std::string_view v) { return !v.empty() && v[0] == '"'; }
bool is_integer(std::string_view v);
bool is_number(std::string_view v);

/// The characters of a canonical string value (quotes included in `v`).
std::string string_value(std::string_view v);

} // namespace dlt::json_detail
