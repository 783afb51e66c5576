#include "model/canonical_json.hpp"

#include <charconv>
#include <cstdint>
#include <cstdlib>

#include "model/json_numbers.hpp"

namespace dlt {
namespace {

constexpr char hex_digits[] = "0123456789abcdef";

void append_u_escape(std::string& out, std::uint32_t unit) {
  char buf[6] = {'\\', 'u', hex_digits[(unit >> 12) & 0xF],
                 hex_digits[(unit >> 8) & 0xF], hex_digits[(unit >> 4) & 0xF],
                 hex_digits[unit & 0xF]};
  out.append(buf, 6);
}

// Decodes one UTF-8 sequence starting at s[i]; advances i. Returns U+FFFD
// for malformed input (overlong, surrogate, truncated, out of range).
std::uint32_t decode_utf8(std::string_view s, std::size_t& i) {
  auto b0 = static_cast<unsigned char>(s[i]);
  std::size_t len;
  std::uint32_t cp;
  if (b0 < 0xC2) {
    ++i;
    return 0xFFFD; // continuation byte or overlong lead
  } else if (b0 < 0xE0) {
    len = 2, cp = b0 & 0x1F;
  } else if (b0 < 0xF0) {
    len = 3, cp = b0 & 0x0F;
  } else if (b0 < 0xF5) {
    len = 4, cp = b0 & 0x07;
  } else {
    ++i;
    return 0xFFFD;
  }
  if (i + len > s.size()) {
    i = s.size();
    return 0xFFFD;
  }
  for (std::size_t k = 1; k < len; ++k) {
    auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) {
      i += k;
      return 0xFFFD;
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  i += len;
  static constexpr std::uint32_t min_for_len[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < min_for_len[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    return 0xFFFD;
  return cp;
}

void append_value(std::string& out, const nlohmann::json& v) {
  using t = nlohmann::json::value_t;
  switch (v.type()) {
    case t::null:
      out += "null";
      break;
    case t::boolean:
      out += v.get<bool>() ? "true" : "false";
      break;
    case t::number_integer: {
      char buf[24];
      auto r = std::to_chars(buf, buf + sizeof buf, v.get<std::int64_t>());
      out.append(buf, r.ptr);
      break;
    }
    case t::number_unsigned: {
      char buf[24];
      auto r = std::to_chars(buf, buf + sizeof buf, v.get<std::uint64_t>());
      out.append(buf, r.ptr);
      break;
    }
    case t::number_float:
      append_python_float(out, v.get<double>());
      break;
    case t::string:
      append_python_string(out, v.get_ref<const std::string&>());
      break;
    case t::array: {
      out += '[';
      bool first = true;
      for (const auto& item : v) {
        if (!first)
          out += ", ";
        first = false;
        append_value(out, item);
      }
      out += ']';
      break;
    }
    case t::object: {
      // nlohmann::json keeps objects in a std::map: keys already sorted by
      // byte order, which for UTF-8 is code point order, as Python sorts.
      out += '{';
      bool first = true;
      for (const auto& [key, item] : v.items()) {
        if (!first)
          out += ", ";
        first = false;
        append_python_string(out, key);
        out += ": ";
        append_value(out, item);
      }
      out += '}';
      break;
    }
    case t::binary:
    case t::discarded:
      out += "null"; // never produced by parse_json
      break;
  }
}

} // namespace

void append_python_string(std::string& out, std::string_view s) {
  out += '"';
  std::size_t i = 0;
  while (i < s.size()) {
    // Fast path: a run of printable ASCII that needs no escape.
    std::size_t run = i;
    while (run < s.size()) {
      auto c = static_cast<unsigned char>(s[run]);
      if (c < 0x20 || c > 0x7E || c == '"' || c == '\\')
        break;
      ++run;
    }
    out.append(s.data() + i, run - i);
    i = run;
    if (i >= s.size())
      break;
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default: append_u_escape(out, c); // other controls and DEL
      }
      continue;
    }
    std::uint32_t cp = decode_utf8(s, i);
    if (cp >= 0x10000) {
      cp -= 0x10000;
      append_u_escape(out, 0xD800 + (cp >> 10));
      append_u_escape(out, 0xDC00 + (cp & 0x3FF));
    } else {
      append_u_escape(out, cp);
    }
  }
  out += '"';
}

void append_python_float(std::string& out, double value) {
  char buf[32];
  out.append(buf, json_detail::format_python_float(buf, value));
}

void append_canonical(std::string& out, const nlohmann::json& value) {
  append_value(out, value);
}

std::string canonical(const nlohmann::json& value) {
  std::string out;
  append_value(out, value);
  return out;
}

} // namespace dlt
