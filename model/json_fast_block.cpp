#include "model/json_fast_block.hpp"

#include <cstring>

#include "model/json_numbers.hpp"
#include "model/json_strings.hpp"

namespace dlt::json_detail {
namespace {

inline bool is_space(char c) {
  return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}
inline bool is_digit(char c) { return c >= '0' && c <= '9'; }

int lower_hex(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1; // uppercase hex is not canonical
}

bool lower_hex4(const char* p, std::uint32_t& unit) {
  unit = 0;
  for (int i = 0; i < 4; ++i) {
    int v = lower_hex(p[i]);
    if (v < 0)
      return false;
    unit = (unit << 4) | static_cast<std::uint32_t>(v);
  }
  return true;
}

class reader {
public:
  reader(const char* p, const char* end, bool trusted, fast_block_scratch& s)
    : p_(p), end_(end), start_(p), copied_to_(p), trusted_(trusted), s_(s) {
    s_.out.clear();
  }

  bool block(std::size_t max_data_depth, block& b, std::string_view& json,
             const char*& block_end) {
    // Each step first tries the canonical bytes as one literal, then the
    // same tokens with any whitespace.
    if (!lit("{\"index\": ")
        && !(lit("{") && (lead_space(), key_is("\"index\"")) && colon()))
      return false;
    if (!index(b.index))
      return false;
    if (!lit(", \"previous_hash\": ")
        && !(after_value('}') == 1 && key_is("\"previous_hash\"") && colon()))
      return false;
    const char* prev = p_;
    bool prev_escaped = false;
    if (p_ == end_ || *p_ != '"' || !string(prev_escaped))
      return false;
    const char* prev_end = p_;
    if (!lit(", \"timestamp\": ")
        && !(after_value('}') == 1 && key_is("\"timestamp\"") && colon()))
      return false;
    if (!number_value())
      return false;
    if (!lit(", \"transactions\": [")
        && !(after_value('}') == 1 && key_is("\"transactions\"") && colon()
             && lit("[")))
      return false;
    lead_space();
    if (p_ == end_)
      return false;
    if (*p_ == ']') {
      ++p_;
    } else {
      for (;;) {
        // {"data": value}
        if (!lit("{\"data\": ")
            && !(lit("{") && (lead_space(), key_is("\"data\"")) && colon()))
          return false;
        if (!value(max_data_depth) || after_value('}') != 2)
          return false;
        int r = after_value(']');
        if (r == 0)
          return false;
        if (r == 2)
          break;
        if (p_ == end_)
          return false;
      }
    }
    if (after_value('}') != 2)
      return false;
    block_end = p_;
    if (diverged_) {
      s_.out.append(copied_to_, static_cast<std::size_t>(p_ - copied_to_));
      json = s_.out.view();
    } else {
      json = std::string_view(start_, static_cast<std::size_t>(p_ - start_));
    }
    std::string_view text(prev + 1, static_cast<std::size_t>(prev_end - prev - 2));
    if (prev_escaped) {
      std::string decoded;
      decode_canonical_string(text, decoded);
      b.previous_hash.assign(decoded);
    } else {
      b.previous_hash.assign(text);
    }
    return true;
  }

private:
  // The input [from, to) becomes `with` in the output.
  void replace(const char* from, const char* to, std::string_view with) {
    s_.out.append(copied_to_, static_cast<std::size_t>(from - copied_to_));
    s_.out.append(with);
    copied_to_ = to;
    diverged_ = true;
  }

  // Whitespace after '[' or '{' or before a closing one: dropped.
  void lead_space() {
    if (p_ < end_ && is_space(*p_)) {
      const char* s = p_;
      while (p_ < end_ && is_space(*p_))
        ++p_;
      replace(s, p_, {});
    }
  }

  // After a value: 1 for ", " (read), 2 for `close` (read), 0 otherwise.
  int after_value(char close) {
    if (end_ - p_ >= 3 && p_[0] == ',' && p_[1] == ' ' && !is_space(p_[2])) {
      p_ += 2;
      return 1;
    }
    const char* s = p_;
    while (p_ < end_ && is_space(*p_))
      ++p_;
    if (p_ == end_)
      return 0;
    if (*p_ == close) {
      if (p_ != s)
        replace(s, p_, {});
      ++p_;
      return 2;
    }
    if (*p_ != ',')
      return 0;
    ++p_;
    while (p_ < end_ && is_space(*p_))
      ++p_;
    replace(s, p_, ", ");
    return 1;
  }

  bool colon() {
    if (end_ - p_ >= 3 && p_[0] == ':' && p_[1] == ' ' && !is_space(p_[2])) {
      p_ += 2;
      return true;
    }
    const char* s = p_;
    while (p_ < end_ && is_space(*p_))
      ++p_;
    if (p_ == end_ || *p_ != ':')
      return false;
    ++p_;
    while (p_ < end_ && is_space(*p_))
      ++p_;
    replace(s, p_, ": ");
    return true;
  }

  template <std::size_t N>
  bool lit(const char (&text)[N]) {
    // N counts the terminating NUL; a constant size lets memcmp be inlined.
    if (end_ - p_ < static_cast<std::ptrdiff_t>(N - 1)
        || std::memcmp(p_, text, N - 1) != 0)
      return false;
    p_ += N - 1;
    return true;
  }

  template <std::size_t N>
  bool key_is(const char (&key)[N]) {
    return lit(key);
  }

  // A canonical string at p_ (its opening quote).
  bool string(bool& escaped) {
    ++p_;
    p_ = skip_plain_run(p_, end_);
    if (p_ < end_ && *p_ == '"') {
      ++p_;
      return true;
    }
    return string_rest(escaped);
  }

  bool string_rest(bool& escaped) {
    for (;;) {
      p_ = skip_plain_run(p_, end_);
      if (p_ == end_)
        return false;
      if (*p_ == '"') {
        ++p_;
        return true;
      }
      if (*p_ != '\\' || end_ - p_ < 2)
        return false; // a raw control, DEL or non-ASCII byte
      escaped = true;
      switch (p_[1]) {
        case '"': case '\\': case 'b': case 'f': case 'n': case 'r': case 't':
          p_ += 2;
          continue;
        case 'u':
          break;
        default:
          return false;
      }
      std::uint32_t unit;
      if (end_ - p_ < 6 || !lower_hex4(p_ + 2, unit))
        return false;
      if (unit >= 0xD800 && unit < 0xE000) {
        std::uint32_t low;
        if (unit < 0xDC00 && end_ - p_ >= 12 && p_[6] == '\\' && p_[7] == 'u'
            && lower_hex4(p_ + 8, low) && low >= 0xDC00 && low < 0xE000)
          p_ += 12; // a pair: a character beyond U+FFFF
        else
          p_ += 6; // a lone surrogate, as Python writes it
        continue;
      }
      // Only what Python escapes this way: controls without a short form,
      // DEL and everything beyond ASCII.
      if ((unit >= 0x20 && unit < 0x7F) || unit == '\b' || unit == '\f'
          || unit == '\n' || unit == '\r' || unit == '\t')
        return false;
      p_ += 6;
    }
  }

  bool word(std::string_view w) {
    if (static_cast<std::size_t>(end_ - p_) < w.size()
        || std::memcmp(p_, w.data(), w.size()) != 0)
      return false;
    p_ += w.size();
    return true;
  }

  // A number in canonical form (the words included).
  bool number_value() {
    if (p_ == end_)
      return false;
    if (*p_ == 'N')
      return word("NaN");
    if (*p_ == 'I')
      return word("Infinity");
    const char* s = p_;
    if (*p_ == '-') {
      ++p_;
      if (p_ < end_ && *p_ == 'I')
        return word("Infinity");
    }
    if (p_ == end_ || !is_digit(*p_))
      return false;
    if (*p_ == '0')
      ++p_;
    else
      while (p_ < end_ && is_digit(*p_))
        ++p_;
    bool integer = true;
    if (p_ < end_ && *p_ == '.') {
      integer = false;
      ++p_;
      if (p_ == end_ || !is_digit(*p_))
        return false;
      while (p_ < end_ && is_digit(*p_))
        ++p_;
    }
    if (p_ < end_ && *p_ == 'e') {
      integer = false;
      ++p_;
      if (p_ < end_ && (*p_ == '+' || *p_ == '-'))
        ++p_;
      if (p_ == end_ || !is_digit(*p_))
        return false;
      while (p_ < end_ && is_digit(*p_))
        ++p_;
    }
    if (p_ == end_)
      return false; // perhaps cut short
    auto size = static_cast<std::size_t>(p_ - s);
    if (integer)
      return !(size == 2 && s[0] == '-' && s[1] == '0')
             && size - (*s == '-') <= python_int_max_digits;
    // A float is canonical when it is exactly what repr() writes for it.
    return trusted_ || is_canonical_float(std::string_view(s, size));
  }

  bool index(std::uint64_t& out) {
    const char* s = p_;
    out = 0;
    if (p_ == end_ || *p_ < '1' || *p_ > '9')
      return false;
    while (p_ < end_ && is_digit(*p_)) {
      auto d = static_cast<std::uint64_t>(*p_ - '0');
      if (out > (UINT64_MAX - d) / 10)
        return false;
      out = out * 10 + d;
      ++p_;
    }
    return p_ < end_ && p_ - s <= 20 && *p_ != '.' && *p_ != 'e' && *p_ != 'E';
  }

  // Any canonical value, nested at most max_depth levels.
  bool value(std::size_t max_depth) {
    auto& stack = s_.stack;
    stack.clear();
    for (;;) {
      if (p_ == end_)
        return false;
      bool escaped = false;
      switch (*p_) {
        case '"':
          if (!string(escaped))
            return false;
          break;
        case '{':
        case '[': {
          if (stack.size() >= max_depth)
            return false;
          bool object = *p_ == '{';
          stack.push_back({nullptr, 0, object});
          ++p_;
          lead_space();
          if (p_ == end_)
            return false;
          if (*p_ == (object ? '}' : ']')) {
            ++p_;
            stack.pop_back();
            break;
          }
          if (object && !key())
            return false;
          continue;
        }
        case 't':
          if (!word("true"))
            return false;
          break;
        case 'f':
          if (!word("false"))
            return false;
          break;
        case 'n':
          if (!word("null"))
            return false;
          break;
        default:
          if (!number_value())
            return false;
      }
      // A value has ended: go on in the enclosing containers.
      for (;;) {
        if (stack.empty())
          return true;
        auto& top = stack.back();
        int r = after_value(top.object ? '}' : ']');
        if (r == 0)
          return false;
        if (r == 1) {
          if (top.object && !key())
            return false;
          break;
        }
        stack.pop_back();
      }
    }
  }

  // A key without escapes, after the previous key of its object; then ':'.
  bool key() {
    auto& top = s_.stack.back();
    if (p_ == end_ || *p_ != '"')
      return false;
    const char* s = p_;
    bool escaped = false;
    if (!string(escaped) || escaped)
      return false; // escaped keys sort by their characters: general path
    std::string_view k(s + 1, static_cast<std::size_t>(p_ - s - 2));
    if (top.key
        && std::string_view(top.key, top.key_size).compare(k) >= 0)
      return false; // unsorted or repeated: general path
    top.key = k.data();
    top.key_size = k.size();
    return colon();
  }

  const char* p_;
  const char* end_;
  const char* start_;
  const char* copied_to_;
  bool diverged_ = false;
  bool trusted_;
  fast_block_scratch& s_;
};

} // namespace

bool read_block_fast(const char* p, const char* end, std::size_t max_data_depth,
                     bool trusted, fast_block_scratch& scratch, block& b,
                     std::string_view& json, const char*& block_end) {
  reader r(p, end, trusted, scratch);
  return r.block(max_data_depth, b, json, block_end);
}

} // namespace dlt::json_detail
