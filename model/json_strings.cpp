#include "model/json_strings.hpp"

namespace dlt::json_detail {
namespace {

// Generalized UTF-8: surrogates encode like any other code point.
void append_wtf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

} // namespace

void append_canonical_char(out_buffer& out, std::uint32_t cp) {
  if (cp >= 0x20 && cp < 0x7F) {
    if (cp == '"' || cp == '\\') {
      char* d = out.room(2);
      d[0] = '\\';
      d[1] = static_cast<char>(cp);
      out.commit(2);
    } else {
      out.push(static_cast<char>(cp));
    }
    return;
  }
  char short_form = 0;
  switch (cp) {
    case '\b': short_form = 'b'; break;
    case '\f': short_form = 'f'; break;
    case '\n': short_form = 'n'; break;
    case '\r': short_form = 'r'; break;
    case '\t': short_form = 't'; break;
    default: break;
  }
  if (short_form) {
    char* d = out.room(2);
    d[0] = '\\';
    d[1] = short_form;
    out.commit(2);
    return;
  }
  if (cp >= 0x10000) {
    cp -= 0x10000;
    char* d = out.room(12);
    write_u_escape(d, 0xD800 + (cp >> 10));
    write_u_escape(d + 6, 0xDC00 + (cp & 0x3FF));
    out.commit(12);
    return;
  }
  write_u_escape(out.room(6), cp);
  out.commit(6);
}

bool decode_canonical_string(std::string_view text, std::string& out) {
  const char* p = text.data();
  const char* end = p + text.size();
  while (p < end) {
    const char* q = find_quote_or_backslash(p, end);
    out.append(p, static_cast<std::size_t>(q - p));
    if (q == end)
      return true;
    if (*q == '"' || end - q < 2)
      return false;
    p = q + 2;
    switch (q[1]) {
      case '"': out += '"'; break;
      case '\\': out += '\\'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'u': {
        std::uint32_t unit;
        if (end - q < 6 || !read_hex4(q + 2, unit))
          return false;
        p = q + 6;
        std::uint32_t low;
        if (unit >= 0xD800 && unit < 0xDC00 && end - p >= 6 && p[0] == '\\'
            && p[1] == 'u' && read_hex4(p + 2, low) && low >= 0xDC00
            && low < 0xE000) {
          unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
          p += 6;
        }
        append_wtf8(out, unit);
        break;
      }
      default:
        return false;
    }
  }
  return true;
}

const char* skip_canonical_string(const char* p, const char* end) {
  ++p; // the opening quote
  for (;;) {
    p = find_quote_or_backslash(p, end);
    if (p == end)
      return nullptr;
    if (*p == '"')
      return p + 1;
    if (end - p < 2)
      return nullptr;
    p += 2; // an escape: the byte after the backslash is never the end
  }
}

} // namespace dlt::json_detail
