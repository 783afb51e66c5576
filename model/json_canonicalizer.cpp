#include "model/json_canonicalizer.hpp"

#include <algorithm>
#include <cstring>

#include "model/json_numbers.hpp"
#include "model/json_strings.hpp"

namespace dlt::json_detail {
namespace {

// JSON's whitespace, which is also Python's json whitespace.
inline bool is_space(char c) {
  return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

inline bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::string describe_byte(char c) {
  auto u = static_cast<unsigned char>(c);
  if (u >= 0x21 && u < 0x7F)
    return std::string("'") + c + "'";
  static constexpr char hex[] = "0123456789abcdef";
  return std::string("byte 0x") + hex[u >> 4] + hex[u & 0xF];
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

} // namespace dlt::json_detail
