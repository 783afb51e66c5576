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

namespace {

inline bool digit(char c) { return c >= '0' && c <= '9'; }

constexpr std::uint64_t pow10_u64[] = {
  1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull, 10000000ull,
  100000000ull, 1000000000ull, 10000000000ull, 100000000000ull,
  1000000000000ull, 10000000000000ull, 100000000000000ull,
  1000000000000000ull, 10000000000000000ull, 100000000000000000ull,
  1000000000000000000ull, 10000000000000000000ull};

} // namespace

// Python's repr() writes the shortest digits that read back as the same
// double (the closest to it among several), in fixed notation when the
// first digit's power of ten is in [-4, 16). Writing the shortest digits
// (to_chars) was most of the cost of reading a block; for text already in
// fixed notation it is decided here without writing anything:
//  - at most 15 significant digits: two such decimals never read as the
//    same double, so the digits are the shortest and the only candidates,
//    and the text is canonical when its layout is;
//  - 16 or 17: the double is read, and exact integer arithmetic (128 bits)
//    checks that no shorter decimal reads as it and that no other decimal
//    of as many digits is closer to it.
// 1: canonical, 0: not, -1: not decided here (exponents, ties, extremes).
int fixed_notation_canonical(std::string_view text) {
  const char* p = text.data();
  const char* end = p + text.size();
  if (p < end && *p == '-')
    ++p;
  // One pass: N, all the digits as an integer (text = N / 10^nf; it wraps
  // beyond 19 digits, and is used only up to 19).
  std::uint64_t n = 0;
  const char* int_begin = p;
  while (p < end && digit(*p))
    n = n * 10 + static_cast<std::uint64_t>(*p++ - '0');
  const char* int_end = p;
  if (p == end || *p != '.')
    return -1;
  const char* frac_begin = ++p;
  while (p < end && digit(*p))
    n = n * 10 + static_cast<std::uint64_t>(*p++ - '0');
  auto ni = static_cast<std::size_t>(int_end - int_begin);
  auto nf = static_cast<std::size_t>(p - frac_begin);
  if (p != end || ni == 0 || nf == 0 || (ni > 1 && *int_begin == '0'))
    return -1;
  bool zero_fraction = nf == 1 && *frac_begin == '0';
  if (nf > 1 && end[-1] == '0')
    return 0; // repr() writes no trailing zero but the one of ".0"
  // The number of significant digits, and t: the trailing zeros of N
  // (those of ".0" and of the integer part before it).
  std::size_t sig;
  std::size_t t = 0;
  if (*int_begin == '0') {
    const char* q = frac_begin;
    while (q < end && *q == '0')
      ++q;
    if (q == end)
      return zero_fraction ? 1 : 0; // 0.0 or -0.0
    if (q - frac_begin > 3)
      return 0; // below 1e-4 repr() writes an exponent
    sig = static_cast<std::size_t>(end - q);
  } else {
    if (ni > 16)
      return 0; // from 1e16 on repr() writes an exponent
    if (zero_fraction) {
      const char* sig_end = int_end;
      while (sig_end[-1] == '0')
        --sig_end;
      sig = static_cast<std::size_t>(sig_end - int_begin);
      t = 1 + static_cast<std::size_t>(int_end - sig_end);
    } else {
      sig = ni + nf;
    }
  }
  if (sig <= 15)
    return 1;
  if (sig > 17)
    return 0;
  if (ni + nf > 19)
    return -1;
  // The double the text reads as, m * 2^e2: the quotient in floating point
  // is within one unit of it, and exact arithmetic picks which. Everything
  // is scaled by 10^nf * 2^(1 - e2): the text is N * 2^shift, the double
  // m is 2m * 10^nf, and half its spacing is 10^nf.
  static constexpr double pow10_double[] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
    1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19};
  double guess = static_cast<double>(n) / pow10_double[nf];
  std::uint64_t bits;
  std::memcpy(&bits, &guess, sizeof bits);
  auto biased = static_cast<int>((bits >> 52) & 0x7FF);
  std::uint64_t m0 = (bits & ((1ull << 52) - 1)) | (1ull << 52);
  int e2 = biased - 1075;
  int shift = 1 - e2;
  // Not a neighbour of a power of two (uneven spacing), and in range of
  // 128-bit products.
  if (biased == 0 || m0 < (1ull << 52) + 2 || m0 + 1 >= (1ull << 53)
      || shift < 0 || shift > 60 || t + 1 >= sizeof pow10_u64 / sizeof *pow10_u64)
    return -1;
  using u128 = unsigned __int128;
  const u128 half = pow10_u64[nf];
  auto dist = [&](u128 a, u128 b) { return a > b ? a - b : b - a; };
  const u128 text_scaled = static_cast<u128>(n) << shift;
  std::uint64_t m = 0;
  for (std::uint64_t c : {m0 - 1, m0, m0 + 1}) {
    u128 d = dist(text_scaled, static_cast<u128>(2 * c) * half);
    if (d < half || (d == half && c % 2 == 0))
      m = c; // reads as this one (ties to even)
  }
  if (m == 0)
    return -1;
  const u128 x = static_cast<u128>(2 * m) * half;
  // No other decimal of as many digits is as close: its neighbours are
  // 10^t away.
  u128 d = dist(text_scaled, x);
  u128 step = static_cast<u128>(pow10_u64[t]) << shift;
  if (2 * d >= step)
    return 2 * d == step ? -1 : 0;
  // No decimal with fewer digits reads as the same double: the two
  // nearest ones (a multiple of 10^(t+1) either side) would.
  std::uint64_t s = pow10_u64[t + 1];
  std::uint64_t lo = n - n % s;
  for (std::uint64_t c : {lo, lo + s}) {
    u128 dc = dist(static_cast<u128>(c) << shift, x);
    if (dc < half || (dc == half && m % 2 == 0))
      return 0; // it reads as the same double (ties to even)
  }
  return 1;
}

bool is_canonical_float(std::string_view text) {
  int fast = fixed_notation_canonical(text);
  if (fast >= 0)
    return fast == 1;
  return is_canonical_float_general(text);
}

bool is_canonical_float_general(std::string_view text) {
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
