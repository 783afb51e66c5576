#include "model/json_walk.hpp"

#include "model/json_strings.hpp"

namespace dlt::json_detail {

const char* skip_canonical_value(const char* p, const char* end) {
  std::size_t depth = 0;
  while (p < end) {
    switch (*p) {
      case '"':
        p = skip_canonical_string(p, end);
        if (!p)
          return nullptr;
        break;
      case '[':
      case '{':
        ++depth;
        ++p;
        continue;
      case ']':
      case '}':
        if (depth == 0)
          return nullptr;
        --depth;
        ++p;
        break;
      case ',':
      case ':':
      case ' ':
        if (depth == 0)
          return nullptr;
        ++p;
        continue;
      default: {
        // A number or a word: canonical text has no spaces inside.
        const char* start = p;
        while (p < end && *p != ',' && *p != ']' && *p != '}' && *p != ' '
               && *p != ':' && *p != '"' && *p != '[' && *p != '{')
          ++p;
        if (p == start)
          return nullptr;
        break;
      }
    }
    if (depth == 0)
      return p;
  }
  return nullptr;
}

bool read_document(canonicalizer& parser, std::string_view text,
                   const json_rules& rules, bool keep_output) {
  parser.reset(rules, keep_output);
  const char* p = text.data();
  const char* end = p + text.size();
  // Python's json.loads(bytes) reads a UTF-8 byte order mark as encoding.
  if (text.size() >= 3 && text.compare(0, 3, "\xEF\xBB\xBF") == 0)
    p += 3;
  std::size_t used = 0;
  auto status = parser.parse(p, end, true,
                             static_cast<std::uint64_t>(p - text.data()), used);
  if (status != parse_status::done)
    return false;
  for (const char* q = p + used; q < end; ++q)
    if (*q != ' ' && *q != '\n' && *q != '\r' && *q != '\t') {
      parser.fail_at(static_cast<std::uint64_t>(q - text.data()),
                     "more text after the value");
      return false;
    }
  return true;
}

bool is_integer(std::string_view v) {
  if (v.empty())
    return false;
  std::size_t i = v[0] == '-' ? 1 : 0;
  if (i == v.size())
    return false;
  for (; i < v.size(); ++i)
    if (v[i] < '0' || v[i] > '9')
      return false;
  return true;
}

bool is_number(std::string_view v) {
  if (v.empty())
    return false;
  char c = v[0] == '-' && v.size() > 1 ? v[1] : v[0];
  return (c >= '0' && c <= '9') || v == "NaN" || v == "Infinity"
         || v == "-Infinity";
}

std::string string_value(std::string_view v) {
  std::string out;
  if (v.size() >= 2)
    decode_canonical_string(v.substr(1, v.size() - 2), out);
  return out;
}

} // namespace dlt::json_detail

namespace dlt {

result<std::string> canonicalize(std::string_view text, const json_rules& rules) {
  json_detail::canonicalizer parser;
  if (!json_detail::read_document(parser, text, rules))
    return failure{parser.error()};
  return parser.output().str();
}

} // namespace dlt
