// The canonical writer's strings (escapes, UTF-8, Python's lone
// surrogates) and object keys (their order, duplicates), apart from its
// state machine in json_canonicalizer.cpp.

#include "model/json_canonicalizer.hpp"

#include <algorithm>
#include <numeric>

#include "model/json_strings.hpp"

namespace dlt::json_detail {
namespace {

std::string escape_text(std::uint32_t unit) {
  char buf[6];
  write_u_escape(buf, unit);
  return std::string(buf, 6);
}

} // namespace

// -- strings --------------------------------------------------------------------

canonicalizer::scan canonicalizer::read_string(const char*& p, const char* end,
                                               bool last) {
  for (;;) {
    copy_plain_run(p, end, out_);
    if (p == end) {
      if (last) {
        fail(refusal::malformed, p, "the text ends inside a string");
        return scan::failed;
      }
      return scan::need_more;
    }
    auto c = static_cast<unsigned char>(*p);
    bool more = false;
    if (c == '"') {
      out_.push('"');
      ++p;
      return scan::closed;
    }
    if (c == '\\') {
      if (!read_escape(p, end, last, more))
        return more ? scan::need_more : scan::failed;
      continue;
    }
    if (c < 0x20) {
      fail(refusal::malformed, p,
           "a raw control character (" + escape_text(c)
             + ") in a string; it must be escaped");
      return scan::failed;
    }
    if (c == 0x7F) {
      write_u_escape(out_.room(6), 0x7F);
      out_.commit(6);
      string_escaped_ = true;
      ++p;
      continue;
    }
    if (!read_utf8(p, end, last, more))
      return more ? scan::need_more : scan::failed;
  }
}

bool canonicalizer::read_escape(const char*& p, const char* end, bool last,
                                bool& more) {
  auto short_of = [&](std::ptrdiff_t n) {
    if (end - p >= n)
      return false;
    if (last)
      fail(refusal::malformed, p, "the text ends inside an escape");
    else
      more = true;
    return true;
  };
  if (short_of(2))
    return false;
  char e = p[1];
  switch (e) {
    case '"':
    case '\\':
    case 'b':
    case 'f':
    case 'n':
    case 'r':
    case 't': {
      char* d = out_.room(2);
      d[0] = '\\';
      d[1] = e;
      out_.commit(2);
      string_escaped_ = true;
      p += 2;
      return true;
    }
    case '/':
      out_.push('/');
      p += 2;
      return true;
    case 'u':
      break;
    default:
      return fail(refusal::malformed, p,
                  "invalid escape \\" + std::string(1, e));
  }
  if (short_of(6))
    return false;
  std::uint32_t unit;
  if (!read_hex4(p + 2, unit))
    return fail(refusal::malformed, p, "invalid \\u escape");
  if (unit >= 0xD800 && unit < 0xDC00) {
    // A high surrogate pairs with a \u low surrogate right after it.
    if (short_of(7))
      return false;
    if (p[6] == '\\') {
      if (short_of(8))
        return false;
      if (p[7] == 'u') {
        if (short_of(12))
          return false;
        std::uint32_t low;
        if (!read_hex4(p + 8, low))
          return fail(refusal::malformed, p + 6, "invalid \\u escape");
        if (low >= 0xDC00 && low < 0xE000) {
          char* d = out_.room(12);
          write_u_escape(d, unit);
          write_u_escape(d + 6, low);
          out_.commit(12);
          string_escaped_ = true;
          p += 12;
          return true;
        }
      }
    }
  }
  if (unit >= 0xD800 && unit < 0xE000 && !rules_.python_values)
    return fail(refusal::python_only, p,
                "a lone surrogate " + escape_text(unit)
                  + " (not a character; only Python accepts it)");
  append_canonical_char(out_, unit);
  if (unit < 0x20 || unit >= 0x7F || unit == '"' || unit == '\\')
    string_escaped_ = true;
  p += 6;
  return true;
}

bool canonicalizer::read_utf8(const char*& p, const char* end, bool last,
                              bool& more) {
  auto b0 = static_cast<unsigned char>(p[0]);
  std::ptrdiff_t len;
  std::uint32_t cp;
  if (b0 >= 0xC2 && b0 < 0xE0)
    len = 2, cp = b0 & 0x1F;
  else if (b0 >= 0xE0 && b0 < 0xF0)
    len = 3, cp = b0 & 0x0F;
  else if (b0 >= 0xF0 && b0 < 0xF5)
    len = 4, cp = b0 & 0x07;
  else
    return fail(refusal::malformed, p, "invalid UTF-8");
  // Check what is there before asking for more: a sequence already broken
  // is refused at once.
  std::ptrdiff_t have = std::min<std::ptrdiff_t>(len, end - p);
  for (std::ptrdiff_t k = 1; k < have; ++k) {
    auto b = static_cast<unsigned char>(p[k]);
    if ((b & 0xC0) != 0x80)
      return fail(refusal::malformed, p, "invalid UTF-8");
    // Overlong and beyond-U+10FFFF forms show in the 2nd byte.
    if (k == 1 && ((b0 == 0xE0 && b < 0xA0) || (b0 == 0xF0 && b < 0x90)
                   || (b0 == 0xF4 && b >= 0x90)))
      return fail(refusal::malformed, p, "invalid UTF-8");
    cp = (cp << 6) | (b & 0x3F);
  }
  if (have < len) {
    if (last)
      return fail(refusal::malformed, p, "invalid UTF-8 (cut short)");
    more = true;
    return false;
  }
  if (cp >= 0xD800 && cp < 0xE000) {
    // Not UTF-8, but json.loads(bytes) decodes with "surrogatepass": a
    // surrogate encoded like a character is a lone surrogate to Python.
    // (Two of them in a key that pair once escaped are sorted as the pair
    // reads back, not as Python's first reading did: its own output would
    // not read back as itself, and canonical bytes must.)
    if (!rules_.python_values)
      return fail(refusal::python_only, p,
                  "a lone surrogate " + escape_text(cp)
                    + " (encoded in UTF-8; not a character)");
  }
  p += len;
  string_escaped_ = true;
  append_canonical_char(out_, cp);
  return true;
}

// -- objects ----------------------------------------------------------------------

namespace {

std::string_view key_text(const out_buffer& out, std::size_t begin,
                          std::uint32_t size) {
  return {out.data() + begin + 1, size - 2u}; // without the quotes
}

} // namespace

std::string_view canonicalizer::key_of(const member& m,
                                       std::string& scratch) const {
  auto text = key_text(out_, m.begin, m.key_size);
  if (!m.escaped_key)
    return text;
  // Python sorts keys by code point; so does byte order of (generalized)
  // UTF-8, which decode_canonical_string writes.
  scratch.clear();
  decode_canonical_string(text, scratch);
  return scratch;
}

void canonicalizer::key_done() {
  if (!keep_)
    return;
  member& m = members_.back();
  m.key_size = static_cast<std::uint32_t>(out_.size() - m.begin);
  m.escaped_key = string_escaped_;
  frame& f = stack_.back();
  if (f.unsorted || members_.size() - f.members_begin < 2)
    return;
  const member& prev = members_[members_.size() - 2];
  // Strictly increasing keys need no sorting; an equal key is a duplicate.
  std::string a, b;
  if (key_of(prev, a) >= key_of(m, b))
    f.unsorted = true;
}

void canonicalizer::close_object() {
  if (!keep_)
    return;
  const frame& f = stack_.back();
  if (f.unsorted)
    sort_members(f);
  members_.resize(f.members_begin);
}

void canonicalizer::sort_members(const frame& f) {
  const member* m = members_.data() + f.members_begin;
  const std::size_t n = members_.size() - f.members_begin;
  const std::size_t content_begin = f.out_begin + 1;
  const std::size_t content_end = out_.size();
  auto member_end = [&](std::size_t i) {
    return i + 1 < n ? m[i + 1].begin - 2 : content_end; // before ", "
  };
  // Each key's characters, computed once (a view of the output when the
  // key has no escapes).
  std::vector<std::string> decoded(n);
  std::vector<std::string_view> keys(n);
  for (std::size_t i = 0; i < n; ++i) {
    keys[i] = key_of(m[i], decoded[i]);
  }
  auto key = [&](std::size_t i) { return keys[i]; };
  std::vector<std::uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  // Stable: among equal keys the last one written stays last, and wins.
  std::stable_sort(order.begin(), order.end(),
                   [&](std::uint32_t a, std::uint32_t b) {
                     return key(a) < key(b);
                   });
  // A later duplicate replaces an earlier one (marked before the keys'
  // bytes are overwritten below).
  std::vector<bool> replaced(n, false);
  for (std::size_t k = 0; k + 1 < n; ++k)
    replaced[k] = key(order[k]) == key(order[k + 1]);
  scratch_.assign(out_.data() + content_begin, content_end - content_begin);
  out_.truncate(content_begin);
  bool first = true;
  for (std::size_t k = 0; k < n; ++k) {
    std::uint32_t i = order[k];
    if (replaced[k])
      continue;
    if (!first)
      out_.append(", ", 2);
    first = false;
    out_.append(scratch_.data() + (m[i].begin - content_begin),
                member_end(i) - m[i].begin);
  }
}

} // namespace dlt::json_detail
