#include "model/json_blocks.hpp"

#include <cstring>

#include <cryptopp/sha.h>

#include "model/json_canonicalizer.hpp"
#include "model/json_fast_block.hpp"
#include "model/json_walk.hpp"

namespace dlt {
namespace {

using json_detail::canonicalizer;
using json_detail::parse_status;

constexpr std::string_view data_prefix = "{\"data\": ";

bool is_space(char c) {
  return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

// One reused SHA-256 state: building one per block costs as much as hashing
// a small block.
class hasher {
public:
  std::string hex(std::string_view bytes) {
    CryptoPP::byte digest[CryptoPP::SHA256::DIGESTSIZE];
    sha_.CalculateDigest(digest,
                         reinterpret_cast<const CryptoPP::byte*>(bytes.data()),
                         bytes.size());
    char text[2 * sizeof digest];
    for (std::size_t i = 0; i < sizeof digest; ++i)
      std::memcpy(text + 2 * i, pairs_.text[digest[i]], 2);
    return std::string(text, sizeof text);
  }

private:
  struct hex_pairs {
    char text[256][2];
    hex_pairs() {
      static constexpr char digits[] = "0123456789abcdef";
      for (int i = 0; i < 256; ++i) {
        text[i][0] = digits[i >> 4];
        text[i][1] = digits[i & 0xF];
      }
    }
  };
  static inline const hex_pairs pairs_;
  CryptoPP::SHA256 sha_;
};

hasher& thread_hasher() {
  thread_local hasher h;
  return h;
}

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

using json_detail::check_block;

std::string link_error(std::size_t n) {
  return "block " + std::to_string(n)
         + " does not link to the block before it (previous_hash "
         + (n == 1 ? "of a genesis block must be \"0\")"
                   : "is not the hash of block " + std::to_string(n - 1) + ")");
}

constexpr json_rules key_rules{0, true};
constexpr json_rules other_value_rules{chain_depth(carried_data_depth) - 1, true};
constexpr json_rules stored_transaction_rules{request_depth(carried_data_depth),
                                              true};

enum step : std::uint8_t {
  s_start, s_open, s_first_key, s_key, s_key_string, s_colon, s_value, s_skip,
  s_chain_first, s_block_start, s_block, s_chain_next, s_after_member,
  s_trailing
};

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
      b.hash = thread_hasher().hex(b.json);
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
  if (auto why = check_block(json, b))
    return failure{*why};
  b.json.assign(json);
  b.hash = thread_hasher().hex(b.json);
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

// -- chain answers ---------------------------------------------------------------------

struct chain_reader::impl {
  canonicalizer parser;
  json_detail::fast_block_scratch scratch;
  hasher sha;
};

chain_reader::chain_reader(std::size_t min_length, std::size_t expected_bytes)
  : impl_(std::make_unique<impl>()),
    min_length_(min_length),
    expected_bytes_(expected_bytes) {
}

chain_reader::~chain_reader() = default;

std::size_t chain_reader::buffered_bytes() const noexcept {
  return tail_.capacity() + impl_->parser.output().capacity();
}

bool chain_reader::fail(std::string why) {
  if (!failed_) {
    failed_ = true;
    error_ = std::move(why);
  }
  return false;
}

bool chain_reader::feed(std::string_view bytes) {
  if (failed_ || finished_)
    return !failed_;
  if (tail_.empty()) {
    auto used = process(bytes.data(), bytes.data() + bytes.size(), false);
    if (failed_)
      return false;
    tail_.assign(bytes.data() + used, bytes.size() - used);
  } else {
    tail_.append(bytes.data(), bytes.size());
    // A token cut short is read again from its start: wait until the tail
    // has doubled, so that a long number read in tiny pieces stays linear.
    if (tail_.size() < retry_at_)
      return true;
    auto used = process(tail_.data(), tail_.data() + tail_.size(), false);
    if (failed_)
      return false;
    tail_.erase(0, used);
  }
  retry_at_ = 2 * tail_.size();
  if (tail_.capacity() > (1u << 16) && tail_.size() < tail_.capacity() / 4)
    tail_.shrink_to_fit();
  return true;
}

result<chain> chain_reader::finish() {
  if (!finished_) {
    finished_ = true;
    if (!failed_)
      process(tail_.data(), tail_.data() + tail_.size(), true);
    std::string().swap(tail_);
    impl_->parser.output().release(0);
    if (!failed_ && !chain_seen_)
      fail("the answer has no \"chain\"");
    if (!failed_ && chain_not_list_)
      fail("\"chain\" is not a list");
    if (!failed_ && blocks_.size() <= min_length_) {
      not_longer_ = true;
      fail("chain of " + std::to_string(blocks_.size())
           + " blocks is not longer than " + std::to_string(min_length_));
    }
  }
  if (failed_)
    return failure{error_};
  return std::move(blocks_);
}

bool chain_reader::take_block() {
  block b;
  auto json = impl_->parser.output().view();
  if (auto why = check_block(json, b))
    return fail("block " + std::to_string(blocks_.size() + 1) + ": " + *why);
  return take_block(b, json);
}

bool chain_reader::take_block(block& b, std::string_view json) {
  std::size_t n = blocks_.size() + 1;
  if (b.index != n)
    return fail("block " + std::to_string(n) + " has index "
                + std::to_string(b.index));
  if (b.previous_hash
      != (n == 1 ? std::string_view{genesis_previous_hash}
                 : std::string_view{blocks_.back().hash}))
    return fail(link_error(n));
  b.json.assign(json);
  b.hash = impl_->sha.hex(b.json);
  if (blocks_.empty() && expected_bytes_ > 0)
    // As many blocks as the first one's size suggests, but never more than
    // blocks of 200 bytes would make (a tiny genesis before big blocks).
    blocks_.reserve(std::min(expected_bytes_ / std::max<std::size_t>(json.size(), 1),
                             expected_bytes_ / 200)
                    + 1);
  blocks_.push_back(std::move(b));
  return true;
}

std::size_t chain_reader::process(const char* begin, const char* end,
                                  bool last) {
  canonicalizer& parser = impl_->parser;
  const char* p = begin;
  auto at = [&](const char* q) {
    return offset_ + static_cast<std::uint64_t>(q - begin);
  };
  auto malformed = [&](const char* q, const std::string& what) {
    fail("malformed JSON at byte " + std::to_string(at(q)) + ": " + what);
  };
  while (!failed_) {
    if (step_ == s_key_string || step_ == s_skip || step_ == s_block) {
      std::size_t used = 0;
      auto status = parser.parse(p, end, last, at(p), used);
      p += used;
      if (status == parse_status::need_more)
        break;
      if (status == parse_status::failed) {
        fail(step_ == s_block
               ? "block " + std::to_string(blocks_.size() + 1) + ": "
                   + parser.error()
               : parser.error());
        break;
      }
      if (step_ == s_key_string) {
        in_chain_key_ = parser.output().view() == "\"chain\"";
        step_ = s_colon;
      } else if (step_ == s_skip) {
        step_ = s_after_member;
      } else {
        if (!take_block())
          break;
        step_ = s_chain_next;
      }
      continue;
    }
    if (step_ == s_start) {
      // Python's json.loads(bytes) reads a UTF-8 byte order mark.
      static constexpr std::string_view bom = "\xEF\xBB\xBF";
      auto have = std::min<std::size_t>(3, static_cast<std::size_t>(end - p));
      if (have < 3 && !last && bom.compare(0, have, std::string_view(p, have)) == 0)
        break;
      if (have == 3 && bom.compare(std::string_view(p, 3)) == 0)
        p += 3;
      step_ = s_open;
      continue;
    }
    while (p < end && is_space(*p))
      ++p;
    if (p == end) {
      if (last && step_ != s_trailing)
        malformed(p, "the answer ends before its end");
      break;
    }
    const char c = *p;
    switch (step_) {
      case s_open:
        if (c != '{') {
          fail("the answer is not a JSON object");
          break;
        }
        ++p;
        step_ = s_first_key;
        break;
      case s_first_key:
        if (c == '}') {
          ++p;
          step_ = s_trailing;
          break;
        }
        [[fallthrough]];
      case s_key:
        if (c != '"') {
          malformed(p, "expected a key string");
          break;
        }
        parser.reset(key_rules); // the parser reads the key itself
        step_ = s_key_string;
        break;
      case s_colon:
        if (c != ':') {
          malformed(p, "expected ':' after a key");
          break;
        }
        ++p;
        step_ = s_value;
        break;
      case s_value:
        if (in_chain_key_) {
          // A repeated "chain" replaces the one before, as in Python.
          chain_seen_ = true;
          blocks_.clear();
          chain_not_list_ = c != '[';
          if (!chain_not_list_) {
            ++p;
            step_ = s_chain_first;
            break;
          }
        }
        parser.reset(other_value_rules, false);
        step_ = s_skip;
        break;
      case s_chain_first:
        if (c == ']') {
          ++p;
          step_ = s_after_member;
          break;
        }
        step_ = s_block_start;
        break;
      case s_block_start: {
        // Most blocks are read by the fast path straight from the input;
        // the parser reads the rest, and those cut by the end of the input.
        block b;
        std::string_view json;
        const char* block_end = nullptr;
        if (json_detail::read_block_fast(p, end, carried_data_depth, false,
                                         impl_->scratch, b, json, block_end)) {
          if (!take_block(b, json))
            break;
          p = block_end;
          step_ = s_chain_next;
          break;
        }
        parser.reset(block_rules());
        step_ = s_block;
        break;
      }
      case s_chain_next:
        if (c == ',') {
          ++p;
          step_ = s_block_start;
        } else if (c == ']') {
          ++p;
          step_ = s_after_member;
        } else {
          malformed(p, "expected ',' or ']' after block "
                         + std::to_string(blocks_.size()));
        }
        break;
      case s_after_member:
        if (c == ',') {
          ++p;
          step_ = s_key;
        } else if (c == '}') {
          ++p;
          step_ = s_trailing;
        } else {
          malformed(p, "expected ',' or '}'");
        }
        break;
      default: // s_trailing
        malformed(p, "more text after the answer");
        break;
    }
  }
  auto used = static_cast<std::size_t>(p - begin);
  offset_ += used;
  return used;
}

result<chain> chain_from_text(std::string_view body, std::size_t min_length) {
  if (min_length > 0) {
    auto n = count_chain_blocks(body);
    if (n && *n <= min_length)
      return failure{"chain of " + std::to_string(*n)
                     + " blocks is not longer than "
                     + std::to_string(min_length)};
  }
  chain_reader reader(min_length, body.size());
  reader.feed(body);
  return reader.finish();
}

} // namespace dlt
