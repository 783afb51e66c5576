#include "model/json_canonicalizer.hpp"

#include <algorithm>
#include <cstring>
#include <numeric>

#include "model/json_numbers.hpp"
#include "model/json_strings.hpp"

namespace dlt::json_detail {
namespace {

// JSON's whitespace, which is also Python's json whitespace.
inline bool is_space(char c) {
  return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

inline bool is_digit(char c) { return c >= '0' && c <= '9'; }

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

bool read_hex4(const char* p, std::uint32_t& unit) {
  unit = 0;
  for (int i = 0; i < 4; ++i) {
    int v = hex_value(p[i]);
    if (v < 0)
      return false;
    unit = (unit << 4) | static_cast<std::uint32_t>(v);
  }
  return true;
}

std::string describe_byte(char c) {
  auto u = static_cast<unsigned char>(c);
  if (u >= 0x21 && u < 0x7F)
    return std::string("'") + c + "'";
  static constexpr char hex[] = "0123456789abcdef";
  return std::string("byte 0x") + hex[u >> 4] + hex[u & 0xF];
}

std::string lone_surrogate_text(std::uint32_t unit) {
  char buf[6];
  write_u_escape(buf, unit);
  return std::string(buf, 6);
}

} // namespace

void canonicalizer::reset(const json_rules& rules, bool keep_output) {
  rules_ = rules;
  keep_ = keep_output;
  state_ = state::value;
  stack_.clear();
  members_.clear();
  out_.clear();
  error_.clear();
  why_ = refusal::none;
}

bool canonicalizer::fail(refusal why, const char* at, std::string what) {
  why_ = why;
  auto offset = buffer_offset_ + static_cast<std::uint64_t>(at - buffer_begin_);
  error_ = (why == refusal::malformed ? "malformed JSON at byte "
                                      : "refused value at byte ")
           + std::to_string(offset) + ": " + what;
  return false;
}

void canonicalizer::fail_at(std::uint64_t offset, const std::string& what) {
  why_ = refusal::malformed;
  error_ = "malformed JSON at byte " + std::to_string(offset) + ": " + what;
}

parse_status canonicalizer::parse(const char* begin, const char* end, bool last,
                                  std::uint64_t offset, std::size_t& consumed) {
  buffer_begin_ = begin;
  buffer_offset_ = offset;
  const char* p = begin;
  auto need_more = [&](const char* at) {
    consumed = static_cast<std::size_t>(at - begin);
    if (!keep_)
      out_.clear(); // positions are never looked at when skipping
    return parse_status::need_more;
  };
  auto failed = [&] {
    consumed = static_cast<std::size_t>(p - begin);
    return parse_status::failed;
  };
  auto truncated = [&] {
    fail(refusal::malformed, p, "the text ends before the value does");
    return failed();
  };

  for (;;) {
    if (state_ == state::in_string)
      goto string_body;
    while (p < end && is_space(*p))
      ++p;
    if (p == end)
      return last ? truncated() : need_more(p);

    switch (state_) {
      case state::first_in_array:
        if (*p == ']')
          goto close_container;
        state_ = state::value;
        goto value;
      case state::first_in_object:
        if (*p == '}')
          goto close_container;
        [[fallthrough]];
      case state::key:
        if (*p != '"') {
          fail(refusal::malformed, p,
               "expected a key string, found " + describe_byte(*p));
          return failed();
        }
        if (keep_) {
          const frame& f = stack_.back();
          if (members_.size() - f.members_begin >= UINT32_MAX) {
            fail(refusal::malformed, p, "too many keys in one object");
            return failed();
          }
          members_.push_back(member{out_.size(), 0, false});
        }
        out_.push('"');
        ++p;
        string_is_key_ = true;
        string_escaped_ = false;
        state_ = state::in_string;
        goto string_body;
      case state::colon:
        if (*p != ':') {
          fail(refusal::malformed, p,
               "expected ':' after a key, found " + describe_byte(*p));
          return failed();
        }
        ++p;
        {
          char* d = out_.room(2);
          d[0] = ':';
          d[1] = ' ';
          out_.commit(2);
        }
        state_ = state::value;
        continue;
      case state::after_value: {
        const frame& f = stack_.back();
        if (*p == ',') {
          ++p;
          char* d = out_.room(2);
          d[0] = ',';
          d[1] = ' ';
          out_.commit(2);
          state_ = f.object ? state::key : state::value;
          continue;
        }
        if (*p == (f.object ? '}' : ']'))
          goto close_container;
        fail(refusal::malformed, p,
             std::string("expected ',' or '") + (f.object ? '}' : ']')
               + "', found " + describe_byte(*p));
        return failed();
      }
      case state::value:
        goto value;
      case state::in_string:
      case state::done:
        break;
    }
    consumed = static_cast<std::size_t>(p - begin);
    return parse_status::done;

  value:
    switch (*p) {
      case '"':
        out_.push('"');
        ++p;
        string_is_key_ = false;
        state_ = state::in_string;
        goto string_body;
      case '{':
      case '[':
        if (stack_.size() >= rules_.max_depth) {
          fail(refusal::too_deep, p,
               "JSON nested deeper than " + std::to_string(rules_.max_depth)
                 + " levels");
          return failed();
        }
        stack_.push_back(frame{out_.size(),
                               static_cast<std::uint32_t>(members_.size()),
                               *p == '{', false});
        state_ = *p == '{' ? state::first_in_object : state::first_in_array;
        out_.push(*p);
        ++p;
        continue;
      default: {
        const char* start = p;
        scan s = (*p == '-' || is_digit(*p)) ? read_number(p, end, last)
                                              : read_literal(p, end, last);
        if (s == scan::need_more)
          return need_more(start);
        if (s == scan::failed)
          return failed();
        goto value_done;
      }
    }

  string_body:
    switch (read_string(p, end, last)) {
      case scan::need_more:
        return need_more(p);
      case scan::failed:
        return failed();
      case scan::closed:
        break;
    }
    if (string_is_key_) {
      key_done();
      state_ = state::colon;
      continue;
    }
    goto value_done;

  close_container : {
    bool object = stack_.back().object;
    if (object)
      close_object();
    out_.push(object ? '}' : ']');
    stack_.pop_back();
    ++p;
  }

  value_done:
    if (stack_.empty()) {
      state_ = state::done;
      consumed = static_cast<std::size_t>(p - begin);
      if (!keep_)
        out_.clear();
      return parse_status::done;
    }
    state_ = state::after_value;
    if (!keep_ && out_.size() > 4096)
      out_.clear();
  }
}

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
           "a raw control character (" + lone_surrogate_text(c)
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
                "a lone surrogate " + lone_surrogate_text(unit)
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
                  "a lone surrogate " + lone_surrogate_text(cp)
                    + " (encoded in UTF-8; not a character)");
  }
  p += len;
  string_escaped_ = true;
  append_canonical_char(out_, cp);
  return true;
}

// -- numbers and literals ----------------------------------------------------------

canonicalizer::scan canonicalizer::read_number(const char*& p, const char* end,
                                               bool last) {
  const char* start = p;
  const char* q = p;
  // Cut short: a number can only end at a byte that is not part of it.
  auto ends_here = [&] { return q == end && !last; };
  if (*q == '-') {
    ++q;
    if (q == end)
      return last ? (fail(refusal::malformed, q, "a lone '-'"), scan::failed)
                  : scan::need_more;
    if (*q == 'I')
      return read_literal(p, end, last); // -Infinity
  }
  if (q < end && *q == '0') {
    ++q;
  } else if (q < end && is_digit(*q)) {
    while (q < end && is_digit(*q))
      ++q;
  } else {
    fail(refusal::malformed, q, "expected a digit");
    return scan::failed;
  }
  bool integer = true;
  if (ends_here())
    return scan::need_more;
  if (q < end && *q == '.') {
    integer = false;
    ++q;
    if (ends_here())
      return scan::need_more;
    if (q == end || !is_digit(*q)) {
      fail(refusal::malformed, q, "expected a digit after '.'");
      return scan::failed;
    }
    while (q < end && is_digit(*q))
      ++q;
    if (ends_here())
      return scan::need_more;
  }
  if (q < end && (*q == 'e' || *q == 'E')) {
    integer = false;
    ++q;
    if (ends_here())
      return scan::need_more;
    if (q < end && (*q == '+' || *q == '-'))
      ++q;
    if (ends_here())
      return scan::need_more;
    if (q == end || !is_digit(*q)) {
      fail(refusal::malformed, q, "expected a digit in the exponent");
      return scan::failed;
    }
    while (q < end && is_digit(*q))
      ++q;
    if (ends_here())
      return scan::need_more;
  }
  std::string why;
  auto outcome = append_canonical_number(
    out_, std::string_view(start, static_cast<std::size_t>(q - start)),
    integer, rules_.python_values, why);
  if (outcome != number_outcome::ok) {
    fail(outcome == number_outcome::too_big ? refusal::too_big
                                            : refusal::python_only,
         start, why);
    return scan::failed;
  }
  p = q;
  return scan::closed;
}

canonicalizer::scan canonicalizer::read_literal(const char*& p, const char* end,
                                                bool last) {
  std::string_view word;
  bool python_only = false;
  bool negative = *p == '-'; // -Infinity, sent here by read_number
  switch (negative ? p[1] : *p) {
    case 't': word = "true"; break;
    case 'f': word = "false"; break;
    case 'n': word = "null"; break;
    case 'N': word = "NaN"; python_only = true; break;
    case 'I': word = negative ? "-Infinity" : "Infinity"; python_only = true; break;
    default:
      fail(refusal::malformed, p,
           "expected a value, found " + describe_byte(*p));
      return scan::failed;
  }
  auto have = std::min<std::size_t>(word.size(),
                                    static_cast<std::size_t>(end - p));
  if (std::memcmp(p, word.data(), have) != 0) {
    fail(refusal::malformed, p, "expected a value");
    return scan::failed;
  }
  if (have < word.size()) {
    if (!last)
      return scan::need_more;
    fail(refusal::malformed, p, "the text ends inside a value");
    return scan::failed;
  }
  if (python_only && !rules_.python_values) {
    fail(refusal::python_only, p,
         std::string(word)
           + " is not standard JSON (NaN and Infinity are values only Python"
             " writes)");
    return scan::failed;
  }
  out_.append(word);
  p += word.size();
  return scan::closed;
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
