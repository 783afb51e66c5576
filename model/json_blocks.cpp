#include "model/json_blocks.hpp"

#include "model/json_canonicalizer.hpp"
#include "model/json_fast_block.hpp"
#include "model/json_hash.hpp"
#include "model/json_walk.hpp"

namespace dlt {
namespace {

using json_detail::canonicalizer;
using json_detail::parse_status;

constexpr std::string_view data_prefix = "{\"data\": ";

// A canonical {"data": v}.
bool is_transaction(std::string_view tx) {
  if (tx.size() < data_prefix.size() + 2 || tx.compare(0, data_prefix.size(), data_prefix) != 0
      || tx.back() != '}')
    return false;
  const char* end = tx.data() + tx.size() - 1;
  return json_detail::skip_canonical_value(tx.data() + data_prefix.size(), end)
         == end;
}

bool parse_index(std::string_view v, std::uint64_t& index) {
  if (!json_detail::is_integer(v) || v[0] == '-' || v == "0")
    return false;
  index = 0;
  for (char c : v) {
    auto d = static_cast<std::uint64_t>(c - '0');
    if (index > (UINT64_MAX - d) / 10)
      return false;
    index = index * 10 + d;
  }
  return true;
}

} // namespace

// The shape check of block_from_json, on canonical bytes: why the block is
// refused, or nothing (and then its index and previous_hash).
std::optional<std::string> json_detail::check_block(std::string_view json,
                                                    block& b) {
  // Nearly always the shape is right: the fast reader confirms it in one
  // pass (and refuses only what it does not read, e.g. escaped keys).
  thread_local json_detail::fast_block_scratch scratch;
  std::string_view same;
  const char* end = nullptr;
  if (json_detail::read_block_fast(json.data(), json.data() + json.size(),
                                   SIZE_MAX, true, scratch, b, same, end)
      && end == json.data() + json.size())
    return std::nullopt;
  if (json.empty() || json[0] != '{')
    return "block is not a JSON object";
  std::string_view found[4];
  bool have[4] = {false, false, false, false};
  std::size_t members = 0;
  static constexpr std::string_view keys[] = {
    "\"index\"", "\"previous_hash\"", "\"timestamp\"", "\"transactions\""};
  bool canonical = json_detail::for_each_member(
    json, [&](std::string_view key, std::string_view value) {
      ++members;
      for (int k = 0; k < 4; ++k)
        if (key == keys[k]) {
          found[k] = value;
          have[k] = true;
        }
      return true;
    });
  if (!canonical)
    return "block is not in canonical form";
  for (int k = 0; k < 4; ++k)
    if (!have[k])
      return "block has no " + std::string(keys[k]);
  if (members != 4)
    return "block has keys other than index, previous_hash, timestamp and "
           "transactions";
  if (!parse_index(found[0], b.index))
    return json_detail::is_integer(found[0]) && found[0][0] != '-'
               && found[0] != "0"
             ? "block index " + std::string(found[0].substr(0, 40))
                 + " is beyond 64 bits"
             : "block index is not an integer >= 1";
  if (!json_detail::is_string(found[1]))
    return "block previous_hash is not a string";
  if (!json_detail::is_number(found[2]))
    return "block timestamp is not a number";
  if (found[3].empty() || found[3][0] != '[')
    return "block transactions is not a list";
  if (!json_detail::for_each_element(found[3], is_transaction))
    return "a transaction is not {\"data\": value}";
  b.previous_hash = json_detail::string_value(found[1]);
  return std::nullopt;
}

namespace {

constexpr json_rules stored_transaction_rules{request_depth(carried_data_depth),
                                              true};

} // namespace

// -- single blocks and transactions -------------------------------------------------

result<block> block_from_text(std::string_view text, bool require_canonical) {
  thread_local json_detail::fast_block_scratch scratch;
  {
    block b;
    std::string_view json;
    const char* end = text.data() + text.size();
    const char* block_end = nullptr;
    if (json_detail::read_block_fast(text.data(), end,
                                     carried_data_depth, false, scratch, b,
                                     json, block_end)
        && block_end == end && (!require_canonical || json == text)) {
      b.json.assign(json);
      json_detail::thread_hasher().hex(b.json, b.hash);
      return b;
    }
  }
  thread_local canonicalizer parser;
  if (!json_detail::read_document(parser, text, block_rules()))
    return failure{parser.error()};
  auto json = parser.output().view();
  if (require_canonical && json != text)
    return failure{"its bytes are not in canonical form"};
  block b;
  if (auto why = json_detail::check_block(json, b))
    return failure{*why};
  b.json.assign(json);
  json_detail::thread_hasher().hex(b.json, b.hash);
  return b;
}

result<std::string> transaction_from_text(std::string_view text,
                                          bool require_canonical) {
  canonicalizer parser;
  if (!json_detail::read_document(parser, text, stored_transaction_rules))
    return failure{parser.error()};
  auto json = parser.output().view();
  if (!is_transaction(json))
    return failure{"not a transaction {\"data\": value}"};
  if (require_canonical && json != text)
    return failure{"its bytes are not in canonical form"};
  return std::string(json);
}

std::size_t match_run(std::string_view text, const block* blocks,
                      std::size_t count, std::vector<std::uint32_t>& ends) {
  ends.clear();
  ends.reserve(count);
  std::size_t at = 0;
  for (std::size_t k = 0; k < count; ++k) {
    if (k > 0) {
      if (text.substr(at, 2) != ", ")
        return k;
      at += 2;
    }
    const auto& json = blocks[k].json;
    if (text.compare(at, json.size(), json) != 0)
      return k;
    at += json.size();
    ends.push_back(static_cast<std::uint32_t>(at));
  }
  return count;
}

std::vector<std::string> transactions_of(std::string_view block_json) {
  std::vector<std::string> out;
  json_detail::for_each_member(
    block_json, [&](std::string_view key, std::string_view value) {
      if (key != "\"transactions\"")
        return true;
      json_detail::for_each_element(value, [&](std::string_view tx) {
        out.emplace_back(tx);
        return true;
      });
      return false;
    });
  return out;
}

} // namespace dlt
