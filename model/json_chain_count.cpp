// Counting the blocks of a chain answer without reading them: a scan of the
// structure (strings skipped, brackets counted) that lets a caller refuse a
// chain that is not longer than its own before canonicalizing or hashing a
// single block. It trusts nothing: any surprise answers "unknown", and the
// full reader decides.

#include "model/json_blocks.hpp"
#include "model/json_canonicalizer.hpp"
#include "model/json_strings.hpp"

namespace dlt {
namespace {

// One past the string token at p (its opening quote), or nullptr.
const char* skip_string(const char* p, const char* end, bool& escaped) {
  ++p;
  for (;;) {
    p = json_detail::find_quote_or_backslash(p, end);
    if (p == end)
      return nullptr;
    if (*p == '"')
      return p + 1;
    escaped = true;
    if (end - p < 2)
      return nullptr;
    p += 2;
  }
}

bool is_chain_key(const char* begin, const char* end, bool escaped) {
  std::string_view key(begin, static_cast<std::size_t>(end - begin));
  if (!escaped)
    return key == "\"chain\"";
  // "ch\u0061in" is "chain" too.
  json_detail::canonicalizer parser;
  parser.reset({0, true});
  std::size_t used = 0;
  return parser.parse(begin, end, true, 0, used) == json_detail::parse_status::done
         && parser.output().view() == "\"chain\"";
}

} // namespace

std::optional<std::size_t> count_chain_blocks(std::string_view body) {
  const char* p = body.data();
  const char* end = p + body.size();
  if (body.size() >= 3 && body.compare(0, 3, "\xEF\xBB\xBF") == 0)
    p += 3;
  std::size_t depth = 0;
  bool expect_key = false, key_is_chain = false, value_is_chain = false;
  bool counting = false, element = false;
  std::size_t commas = 0;
  std::optional<std::size_t> count;
  for (; p < end; ++p) {
    char c = *p;
    switch (c) {
      case ' ': case '\n': case '\r': case '\t':
        continue;
      case '"': {
        bool escaped = false;
        const char* q = skip_string(p, end, escaped);
        if (!q)
          return std::nullopt;
        if (depth == 1 && expect_key) {
          key_is_chain = is_chain_key(p, q, escaped);
          expect_key = false;
        }
        if (counting && depth == 2)
          element = true;
        p = q - 1;
        continue;
      }
      case ':':
        if (depth == 1)
          value_is_chain = key_is_chain;
        continue;
      case '{': case '[':
        if (depth == 0 && c != '{')
          return std::nullopt;
        if (counting && depth == 2)
          element = true;
        ++depth;
        if (depth == 1)
          expect_key = true;
        if (depth == 2 && value_is_chain && c == '[') {
          counting = true;
          element = false;
          commas = 0;
        }
        continue;
      case '}': case ']':
        if (depth == 0)
          return std::nullopt;
        if (depth == 2 && counting) {
          count = element ? commas + 1 : 0;
          counting = false;
        }
        if (depth == 2)
          value_is_chain = false;
        --depth;
        if (depth == 0)
          return count;
        continue;
      case ',':
        if (depth == 1) {
          expect_key = true;
          value_is_chain = false;
        } else if (depth == 2 && counting) {
          ++commas;
        }
        continue;
      default:
        if (depth == 0)
          return std::nullopt;
        if (depth == 1)
          value_is_chain = false; // a scalar value at the top level
        if (counting && depth == 2)
          element = true;
        continue;
    }
  }
  return std::nullopt;
}

} // namespace dlt
