#include "model/json_numbers.hpp"

#include <charconv>
#include <cstdint>
#include <cstring>

namespace dlt::json_detail {
namespace {

std::string clip(std::string_view s) {
  return s.size() <= 40 ? std::string(s)
                        : std::string(s.substr(0, 37)) + "...";
}

// Without a fraction or exponent the canonical form is the digits themselves
// ("-0" is 0: Python reads it as the int 0).
number_outcome integer(out_buffer& out, std::string_view text,
                       bool python_values, std::string& why) {
  bool negative = text[0] == '-';
  std::size_t digits = text.size() - (negative ? 1 : 0);
  if (digits > 18) {
    if (digits > python_int_max_digits) {
      why = "an integer of " + std::to_string(digits)
            + " digits (Python reads at most "
            + std::to_string(python_int_max_digits) + ")";
      return number_outcome::too_big;
    }
    if (!python_values) {
      // 64 bits: -9223372036854775808 .. 18446744073709551615.
      std::string_view limit = negative ? "9223372036854775808"
                                        : "18446744073709551615";
      std::string_view d = text.substr(negative ? 1 : 0);
      if (d.size() > limit.size()
          || (d.size() == limit.size() && d.compare(limit) > 0)) {
        why = "an integer beyond 64 bits: " + clip(text)
              + " (only 64-bit integers are standard for JSON parsers)";
        return number_outcome::python_only;
      }
    }
  }
  if (negative && digits == 1 && text[1] == '0')
    out.push('0');
  else
    out.append(text);
  return number_outcome::ok;
}

// from_chars leaves the value alone when it is out of range: then the number
// is huge (Python: inf) or tiny (Python: 0.0), as the decimal exponent of its
// first significant digit tells.
double out_of_range_value(std::string_view text) {
  bool negative = text[0] == '-';
  std::size_t i = negative ? 1 : 0;
  std::size_t int_end = text.find_first_of(".eE", i);
  if (int_end == std::string_view::npos)
    int_end = text.size();
  std::size_t mantissa_end = text.find_first_of("eE", i);
  if (mantissa_end == std::string_view::npos)
    mantissa_end = text.size();
  // The power of ten of the first significant digit.
  long long power = 0;
  bool found = false;
  for (std::size_t k = i; k < int_end && !found; ++k)
    if (text[k] != '0') {
      found = true;
      power = static_cast<long long>(int_end - k) - 1;
    }
  for (std::size_t k = int_end + 1; k < mantissa_end && !found; ++k)
    if (text[k] != '0') {
      found = true;
      power = -static_cast<long long>(k - int_end);
    }
  if (!found)
    return negative ? -0.0 : 0.0;
  long long exponent = 0;
  if (mantissa_end < text.size()) {
    std::size_t k = mantissa_end + 1;
    bool minus = false;
    if (text[k] == '+' || text[k] == '-')
      minus = text[k++] == '-';
    for (; k < text.size(); ++k)
      if (exponent < 1'000'000'000)
        exponent = exponent * 10 + (text[k] - '0');
    if (minus)
      exponent = -exponent;
  }
  double v = power + exponent > 0 ? __builtin_inf() : 0.0;
  return negative ? -v : v;
}

} // namespace

namespace {

// The shortest round-trip digits of a finite double and the power of ten of
// the first one (to_chars' "d.ddde+XX", taken apart).
struct shortest_digits {
  bool negative;
  int n;
  int power;
  char digits[20];
};

shortest_digits shortest(double value) {
  char sci[40];
  auto r = std::to_chars(sci, sci + sizeof sci, value,
                         std::chars_format::scientific);
  shortest_digits s;
  const char* p = sci;
  s.negative = *p == '-';
  p += s.negative;
  const char* e_pos = r.ptr - 4; // "e+XX" or "e+XXX"
  if (*e_pos != 'e')
    --e_pos;
  s.n = 0;
  for (; p < e_pos; ++p)
    if (*p != '.')
      s.digits[s.n++] = *p;
  int power = 0;
  for (const char* q = e_pos + 2; q < r.ptr; ++q)
    power = power * 10 + (*q - '0');
  s.power = e_pos[1] == '-' ? -power : power;
  return s;
}

// Python's layout of those digits, one character at a time: `put` writes
// (format_python_float) or compares (is_canonical_float) each.
template <class Put>
bool python_layout(const shortest_digits& s, Put&& put) {
  const int n = s.n;
  const int e = s.power;
  if (s.negative && !put('-'))
    return false;
  if (e >= -4 && e < 16) {
    if (e < 0) {
      if (!put('0') || !put('.'))
        return false;
      for (int z = 0; z < -e - 1; ++z)
        if (!put('0'))
          return false;
      for (int k = 0; k < n; ++k)
        if (!put(s.digits[k]))
          return false;
    } else if (e + 1 >= n) {
      for (int k = 0; k < n; ++k)
        if (!put(s.digits[k]))
          return false;
      for (int z = 0; z < e + 1 - n; ++z)
        if (!put('0'))
          return false;
      return put('.') && put('0');
    } else {
      for (int k = 0; k <= e; ++k)
        if (!put(s.digits[k]))
          return false;
      if (!put('.'))
        return false;
      for (int k = e + 1; k < n; ++k)
        if (!put(s.digits[k]))
          return false;
    }
    return true;
  }
  if (!put(s.digits[0]))
    return false;
  if (n > 1) {
    if (!put('.'))
      return false;
    for (int k = 1; k < n; ++k)
      if (!put(s.digits[k]))
        return false;
  }
  int mag = e < 0 ? -e : e;
  if (!put('e') || !put(e < 0 ? '-' : '+'))
    return false;
  if (mag >= 100 && !put(static_cast<char>('0' + mag / 100)))
    return false;
  return put(static_cast<char>('0' + mag / 10 % 10))
         && put(static_cast<char>('0' + mag % 10));
}

} // namespace

std::size_t format_python_float(char* buf, double value) {
  if (value != value || value == __builtin_inf() || value == -__builtin_inf()) {
    // As json.dumps writes them (repr() would say nan / inf).
    std::string_view word = value != value ? "NaN"
                            : value > 0    ? "Infinity"
                                           : "-Infinity";
    std::memcpy(buf, word.data(), word.size());
    return word.size();
  }
  char* o = buf;
  python_layout(shortest(value), [&](char c) {
    *o++ = c;
    return true;
  });
  return static_cast<std::size_t>(o - buf);
}

bool is_canonical_float(std::string_view text) {
  double value;
  const char* end = text.data() + text.size();
  auto r = std::from_chars(text.data(), end, value);
  if (r.ec != std::errc{} || r.ptr != end)
    return false; // out of range: Python writes 0.0 or Infinity instead
  char sci[40];
  auto w = std::to_chars(sci, sci + sizeof sci, value,
                         std::chars_format::scientific);
  // The layout of nearly every float a block holds (a timestamp): fixed,
  // with a fraction: "d.ddddde+0E" is "dd...d.ddd". Compared in place.
  std::size_t neg = sci[0] == '-';
  const char* e_pos = w.ptr - 4;
  if (*e_pos == 'e' && e_pos[1] == '+' && neg + 2 < static_cast<std::size_t>(e_pos - sci)
      && sci[neg + 1] == '.') {
    std::size_t e = static_cast<std::size_t>((e_pos[2] - '0') * 10 + (e_pos[3] - '0'));
    std::size_t n = static_cast<std::size_t>(e_pos - sci) - neg - 1; // digits
    if (e < 16 && e + 1 < n) {
      return text.size() == neg + n + 1 && (neg == 0 || text[0] == '-')
             && text[neg] == sci[neg]
             && std::memcmp(text.data() + neg + 1, sci + neg + 2, e) == 0
             && text[neg + 1 + e] == '.'
             && std::memcmp(text.data() + neg + 2 + e, sci + neg + 2 + e,
                            n - 1 - e) == 0;
    }
  }
  const char* p = text.data();
  return python_layout(shortest(value),
                       [&](char c) { return p < end && *p++ == c; })
         && p == end;
}

number_outcome append_canonical_number(out_buffer& out, std::string_view text,
                                       bool is_integer, bool python_values,
                                       std::string& why) {
  if (is_integer)
    return integer(out, text, python_values, why);
  double value = 0;
  auto r = std::from_chars(text.data(), text.data() + text.size(), value);
  if (r.ec == std::errc::result_out_of_range)
    value = out_of_range_value(text);
  if (value == __builtin_inf() || value == -__builtin_inf()) {
    if (!python_values) {
      why = "a number beyond the double range: " + clip(text)
            + " (Python reads it as Infinity)";
      return number_outcome::python_only;
    }
    out.append(value > 0 ? std::string_view{"Infinity"}
                         : std::string_view{"-Infinity"});
    return number_outcome::ok;
  }
  char* d = out.room(32);
  out.commit(format_python_float(d, value));
  return number_outcome::ok;
}

} // namespace dlt::json_detail
