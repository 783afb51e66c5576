#include "actors/chain_segments.hpp"

namespace dlt {
namespace {

void add_block(json_segment& seg, const block& b) {
  if (!seg.ends.empty())
    seg.text += ", ";
  seg.text += b.json;
  seg.ends.push_back(static_cast<std::uint32_t>(seg.text.size()));
  // Blocks the node holds carry the hash it computed: always 64 hex digits.
  seg.hashes.push_back(digest_from_hex(b.hash).value_or(digest{}));
}

} // namespace

std::uint64_t chain_segments::count() const {
  return segments_.empty() ? 0
                           : segments_.back()->first + segments_.back()->count() - 1;
}

void chain_segments::push(const block& b) {
  cached_.reset();
  if (segments_.empty() || segments_.back()->text.size() >= segment_bytes) {
    auto seg = std::make_shared<json_segment>();
    seg->first = count() + 1;
    add_block(*seg, b);
    segments_.push_back(std::move(seg));
    return;
  }
  // Published views may share the last segment: replace, never modify it.
  const auto& last = *segments_.back();
  auto grown = std::make_shared<json_segment>();
  grown->first = last.first;
  grown->text.reserve(last.text.size() + 2 + b.json.size());
  grown->text = last.text;
  grown->ends = last.ends;
  grown->hashes = last.hashes;
  add_block(*grown, b);
  segments_.back() = std::move(grown);
}

void chain_segments::pop() {
  cached_.reset();
  if (segments_.empty())
    return;
  const auto& last = *segments_.back();
  if (last.count() <= 1) {
    segments_.pop_back();
    return;
  }
  auto shrunk = std::make_shared<json_segment>();
  shrunk->first = last.first;
  shrunk->ends.assign(last.ends.begin(), last.ends.end() - 1);
  shrunk->hashes.assign(last.hashes.begin(), last.hashes.end() - 1);
  shrunk->text = last.text.substr(0, shrunk->ends.back());
  segments_.back() = std::move(shrunk);
}

void chain_segments::rebuild_from(const chain& blocks, std::uint64_t first) {
  cached_.reset();
  // Keep the segments that end before `first`; rebuild from the first
  // block of the one that holds it.
  while (!segments_.empty() && segments_.back()->first >= first)
    segments_.pop_back();
  if (!segments_.empty()
      && segments_.back()->first + segments_.back()->count() > first)
    segments_.pop_back();
  auto next = count() + 1;
  std::shared_ptr<json_segment> seg;
  for (auto i = next; i <= blocks.size(); ++i) {
    if (!seg) {
      seg = std::make_shared<json_segment>();
      seg->first = i;
    }
    add_block(*seg, blocks[i - 1]);
    if (seg->text.size() >= segment_bytes) {
      segments_.push_back(std::move(seg));
      seg = nullptr;
    }
  }
  if (seg)
    segments_.push_back(std::move(seg));
}

std::shared_ptr<const chain_json> chain_segments::json() {
  if (!cached_)
    cached_ = std::make_shared<const chain_json>(chain_json{segments_});
  return cached_;
}

} // namespace dlt
