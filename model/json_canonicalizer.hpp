#pragma once
// The one JSON reader of the node: reads one JSON value from text and writes
// its canonical bytes (Python's json.dumps(v, sort_keys=True)) as it goes, in
// a single pass, without building a DOM and without recursion (an explicit
// stack bounded by json_rules::max_depth).
//
// It can be fed in pieces: parse() consumes what it can and, when the text
// ends inside a token, says need_more and where to resume; the caller passes
// the unconsumed bytes again with more behind them. Strings resume where they
// stopped (a long string is never scanned twice); a number or literal cut
// short is read again from its start.
//
// Internal to model/: callers use json_rules.hpp, json_requests.hpp and
// json_blocks.hpp.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "model/json_out.hpp"
#include "model/json_rules.hpp"

namespace dlt::json_detail {

enum class parse_status { done, need_more, failed };

/// Why a text was refused.
enum class refusal {
  none,
  malformed,   // not JSON at all, or invalid UTF-8: Python refuses it too
  python_only, // a value only Python accepts, under rules without python_values
  too_deep,    // nesting beyond rules.max_depth
  too_big,     // an integer Python itself refuses (more than 4,300 digits)
};

class canonicalizer {
public:
  /// Prepares to read a new value. `keep_output` false: validate only (the
  /// output is dropped as it is written, so skipping a huge value costs no
  /// memory).
  void reset(const json_rules& rules, bool keep_output = true);

  /// Reads on from `begin`. `last`: no bytes follow `end`. `offset`: the
  /// position of `begin` in the whole document, for error messages. Sets
  /// `consumed` to the bytes used: after done, the value ended there; after
  /// need_more, bytes from there on must be passed again (with more).
  parse_status parse(const char* begin, const char* end, bool last,
                     std::uint64_t offset, std::size_t& consumed);

  /// Records a refusal the caller found around the value (text after it).
  void fail_at(std::uint64_t offset, const std::string& what);

  /// The canonical bytes written so far (all of them after done).
  out_buffer& output() noexcept { return out_; }
  const std::string& error() const noexcept { return error_; }
  refusal why() const noexcept { return why_; }

private:
  enum class state : std::uint8_t {
    value, first_in_array, first_in_object, key, colon, after_value,
    in_string, done
  };
  struct frame {
    std::size_t out_begin; // position of '{' or '['
    std::uint32_t members_begin;
    bool object;
    bool unsorted;
  };
  struct member {
    std::size_t begin; // position of the key's opening quote
    std::uint32_t key_size;
    bool escaped_key; // the key's canonical text holds a backslash
  };

  enum class scan { closed, need_more, failed };
  scan read_string(const char*& p, const char* end, bool last);
  bool read_escape(const char*& p, const char* end, bool last, bool& more);
  bool read_utf8(const char*& p, const char* end, bool last, bool& more);
  scan read_number(const char*& p, const char* end, bool last);
  scan read_literal(const char*& p, const char* end, bool last);
  void key_done();
  std::string_view key_of(const member& m, std::string& scratch) const;
  void close_object();
  void sort_members(const frame& f);
  bool fail(refusal why, const char* at, std::string what);

  json_rules rules_;
  bool keep_ = true;
  state state_ = state::value;
  bool string_is_key_ = false;
  bool string_escaped_ = false;
  std::vector<frame> stack_;
  std::vector<member> members_;
  out_buffer out_;
  std::string error_;
  refusal why_ = refusal::none;
  // For error positions: the document offset of the current buffer's start.
  const char* buffer_begin_ = nullptr;
  std::uint64_t buffer_offset_ = 0;
  // Scratch space for reordering an object's members.
  std::string scratch_;
};

} // namespace dlt::json_detail
