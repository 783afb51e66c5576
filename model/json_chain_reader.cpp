#include "model/json_blocks.hpp"

#include "model/json_canonicalizer.hpp"
#include "model/json_fast_block.hpp"
#include "model/json_hash.hpp"
#include "model/json_walk.hpp"

// The chain answer reader: a small state machine for the answer's own
// object and list, the fast path (json_fast_block.hpp) for each block,
// and the canonicalizer for the rest, all resumable at any byte.

namespace dlt {
namespace {

using json_detail::canonicalizer;
using json_detail::check_block;
using json_detail::parse_status;

bool is_space(char c) {
  return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

std::string link_error(std::size_t n) {
  return "block " + std::to_string(n)
         + " does not link to the block before it (previous_hash "
         + (n == 1 ? "of a genesis block must be \"0\")"
                   : "is not the hash of block " + std::to_string(n - 1) + ")");
}

constexpr json_rules key_rules{0, true};
// Values of other keys sit one level inside the answer.
constexpr json_rules other_value_rules{chain_depth(carried_data_depth) - 1, true};

enum step : std::uint8_t {
  s_start, s_open, s_first_key, s_key, s_key_string, s_colon, s_value, s_skip,
  s_chain_first, s_block_start, s_block, s_chain_next, s_after_member,
  s_trailing
};

} // namespace

struct chain_reader::impl {
  canonicalizer parser;
  json_detail::fast_block_scratch scratch;
  json_detail::hasher sha;
};

chain_reader::chain_reader(std::size_t min_length)
  : impl_(std::make_unique<impl>()), min_length_(min_length) {
}

chain_reader::~chain_reader() = default;

void chain_reader::expect_bytes(std::size_t bytes) {
  // The smallest blocks peers send (one short transaction) take about 180
  // bytes; a smaller guess only costs one more growth of the list.
  constexpr std::size_t typical_block_bytes = 128;
  if (blocks_.empty())
    blocks_.reserve(bytes / typical_block_bytes);
}

std::size_t chain_reader::buffered_bytes() const noexcept {
  return tail_.capacity() + impl_->parser.output().capacity()
         + impl_->scratch.out.capacity();
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
  if (taken_)
    return failure{"the chain was already taken"};
  taken_ = true;
  return std::move(blocks_);
}

bool chain_reader::take_block() {
  block& b = blocks_.emplace_back();
  auto json = impl_->parser.output().view();
  if (auto why = check_block(json, b)) {
    blocks_.pop_back();
    return fail("block " + std::to_string(name_base_ + blocks_.size() + 1)
                + ": " + *why);
  }
  return take_block(b, json);
}

// `b` is the last of blocks_, built in place (a block is 200 bytes: moving
// each one into the list cost as much as checking its links).
bool chain_reader::take_block(block& b, std::string_view json) {
  std::size_t n = blocks_.size();
  if (list_body_) {
    b.json.assign(json);
    impl_->sha.hex(b.json, b.hash);
    return true;
  }
  if (b.index != n) {
    auto index = b.index;
    blocks_.pop_back();
    return fail("block " + std::to_string(n) + " has index "
                + std::to_string(index));
  }
  if (b.previous_hash
      != (n == 1 ? std::string_view{genesis_previous_hash}
                 : blocks_[n - 2].hash.view())) {
    blocks_.pop_back();
    return fail(link_error(n));
  }
  b.json.assign(json);
  impl_->sha.hex(b.json, b.hash);
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
               ? "block " + std::to_string(name_base_ + blocks_.size() + 1) + ": "
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
      if (last && step_ != s_trailing && !(list_body_ && step_ == s_chain_next))
        malformed(p, list_body_ && step_ == s_chain_first
                       ? "no block"
                       : "the answer ends before its end");
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
        if (c == ']' && !list_body_) {
          ++p;
          step_ = s_after_member;
          break;
        }
        step_ = s_block_start;
        break;
      case s_block_start: {
        // Most blocks are read by the fast path straight from the input;
        // the parser reads the rest, and those cut by the end of the input.
        block& b = blocks_.emplace_back();
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
        blocks_.pop_back();
        parser.reset(block_rules());
        step_ = s_block;
        break;
      }
      case s_chain_next:
        if (c == ',') {
          ++p;
          step_ = s_block_start;
        } else if (c == ']' && !list_body_) {
          ++p;
          step_ = s_after_member;
        } else {
          malformed(p, (list_body_ ? "expected ',' after block "
                                   : "expected ',' or ']' after block ")
                         + std::to_string(name_base_ + blocks_.size()));
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

void chain_reader::read_list_body(std::uint64_t first_name, chain into) {
  blocks_ = std::move(into);
  list_body_ = true;
  chain_seen_ = true;
  // Errors name a block name_base_ + its position in blocks_: the first
  // new one is first_name (unsigned arithmetic wraps, and wraps back).
  name_base_ = first_name - 1 - blocks_.size();
  step_ = s_chain_first;
}

result<chain> blocks_from_list_body(std::string_view text,
                                    std::uint64_t first_name, chain into) {
  chain_reader reader;
  reader.read_list_body(first_name, std::move(into));
  reader.expect_bytes(text.size());
  reader.feed(text);
  return reader.finish();
}

result<chain> chain_from_text(std::string_view body, std::size_t min_length) {
  if (min_length > 0) {
    auto n = count_chain_blocks(body);
    if (n && *n <= min_length)
      return failure{"chain of " + std::to_string(*n)
                     + " blocks is not longer than "
                     + std::to_string(min_length)};
  }
  chain_reader reader(min_length);
  reader.expect_bytes(body.size());
  reader.feed(body);
  return reader.finish();
}

} // namespace dlt
