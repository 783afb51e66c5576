#pragma once
// Numbers in canonical form: integers as their digits (any size), floats as
// Python's repr(), NaN / Infinity / -Infinity as those words.

#include <cstddef>
#include <string>
#include <string_view>

#include "model/json_out.hpp"

namespace dlt::json_detail {

/// The most digits Python 3.11's int() reads (sys.get_int_max_str_digits()):
/// json.loads refuses longer integers.
inline constexpr std::size_t python_int_max_digits = 4300;

/// Writes `value` as json.dumps does (Python's repr() for finite values,
/// NaN / Infinity / -Infinity otherwise) to buf (>= 32 bytes); returns the
/// length.
std::size_t format_python_float(char* buf, double value);

/// True when `text` (a JSON number with a fraction or an exponent) is
/// exactly what Python's repr() writes for the double it denotes (compared
/// as it is laid out, without writing it).
bool is_canonical_float(std::string_view text);

/// is_canonical_float by writing the shortest digits (the reference the
/// fixed-notation shortcut is tested against).
bool is_canonical_float_general(std::string_view text);

/// The fixed-notation shortcut alone: 1 canonical, 0 not, -1 undecided.
int fixed_notation_canonical(std::string_view text);

enum class number_outcome { ok, python_only, too_big };

/// Appends the canonical form of `text`, a number that matches JSON's
/// grammar; `integer`: it has neither fraction nor exponent. Without
/// `python_values`, integers beyond 64 bits and numbers beyond the double
/// range are refused (python_only); integers longer than Python reads are
/// always refused (too_big). `why` says what was refused.
number_outcome append_canonical_number(out_buffer& out, std::string_view text,
                                       bool integer, bool python_values,
                                       std::string& why);

} // namespace dlt::json_detail
