#include "actors/chain_store.hpp"

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "model/json_blocks.hpp"

namespace dlt {

void release_free_memory() {
#ifdef __GLIBC__
  // Freed small blocks stay in malloc's arenas (the parser thread's, for a
  // peer's chain) until trimmed; this returns their whole pages.
  malloc_trim(0);
#endif
}

std::uint64_t chain_store::size() const {
  return segments_.empty()
           ? 0
           : segments_.back()->first + segments_.back()->count() - 1;
}

const json_segment& chain_store::segment_of(std::uint64_t index) const {
  return *segments_[segment_holding(segments_, index)];
}

std::string_view chain_store::json(std::uint64_t index) const {
  return segment_of(index).block(index);
}

const digest& chain_store::hash(std::uint64_t index) const {
  const auto& seg = segment_of(index);
  return seg.hashes[index - seg.first];
}

std::string chain_store::hash_hex(std::uint64_t index) const {
  return digest_hex(hash(index));
}

block chain_store::block_at(std::uint64_t index) const {
  block b;
  b.index = index;
  b.previous_hash = index == 1 ? std::string{genesis_previous_hash}
                               : hash_hex(index - 1);
  b.hash = hash_hex(index);
  b.json = std::string{json(index)};
  return b;
}

std::shared_ptr<json_segment> chain_store::new_segment(std::uint64_t first) {
  auto seg = std::make_shared<json_segment>();
  seg->first = first;
  seg->text.reserve(segment_bytes + segment_bytes / 8);
  return seg;
}

std::shared_ptr<json_segment> chain_store::open_last() {
  cached_.reset();
  if (!segments_.empty() && !full(*segments_.back())) {
    auto copy = std::make_shared<json_segment>(*segments_.back());
    segments_.pop_back();
    return copy;
  }
  auto seg = std::make_shared<json_segment>();
  seg->first = size() + 1;
  return seg;
}

void chain_store::seal(std::shared_ptr<json_segment> seg) {
  if (seg && !seg->ends.empty())
    segments_.push_back(std::move(seg));
}

void chain_store::push(const block& b) {
  auto seg = open_last();
  seg->text.reserve(seg->text.size() + 2 + b.json.size());
  seg->add(b.json, digest_from_hex(b.hash).value_or(digest{}));
  seal(std::move(seg));
}

void chain_store::append(chain&& blocks,
                         const std::function<void(std::uint64_t)>& progress) {
  if (blocks.empty())
    return;
  // Segments are sized to what they hold: grown by doubling they kept up
  // to half their capacity unused, a quarter of the chain's bytes.
  auto fit = [](json_segment& seg) {
    if (seg.text.capacity() > seg.text.size() + seg.text.size() / 16)
      seg.text.shrink_to_fit();
    seg.ends.shrink_to_fit();
    seg.hashes.shrink_to_fit();
  };
  auto seg = open_last();
  seg->text.reserve(segment_bytes + segment_bytes / 8);
  std::size_t freed = 0;
  std::size_t unreported = 0;
  for (auto& b : blocks) {
    if (full(*seg)) {
      fit(*seg);
      unreported += seg->text.size();
      seal(std::move(seg));
      if (progress && unreported >= stage_bytes) {
        progress(size());
        unreported = 0;
      }
      seg = new_segment(size() + 1);
    }
    seg->add(b.json, digest_from_hex(b.hash).value_or(digest{}));
    freed += b.json.capacity();
    // Its bytes live in the segment now. (Assigning an empty string would
    // keep the buffer: libstdc++ copies a short string into it.)
    std::string().swap(b.json);
    if (freed >= trim_bytes) {
      // Give the freed blocks' pages back as the segments grow, or holding
      // a chain while adopting it costs both at once.
      release_free_memory();
      freed = 0;
    }
  }
  fit(*seg);
  seal(std::move(seg));
  blocks.clear();
  blocks.shrink_to_fit();
  release_free_memory();
}

void chain_store::append(json_segments&& segments) {
  cached_.reset();
  // Numbered by the verifier from the block they follow (verifier.cpp).
  for (auto& seg : segments)
    if (seg && seg->count() > 0)
      segments_.push_back(std::move(seg));
  segments.clear();
}

void chain_store::truncate(std::uint64_t n) {
  if (n >= size())
    return;
  cached_.reset();
  while (!segments_.empty() && segments_.back()->first > n)
    segments_.pop_back();
  if (segments_.empty() || size() == n)
    return;
  const auto& last = *segments_.back();
  auto kept = static_cast<std::size_t>(n - last.first + 1);
  auto shrunk = std::make_shared<json_segment>();
  shrunk->first = last.first;
  shrunk->ends.assign(last.ends.begin(), last.ends.begin() + kept);
  shrunk->hashes.assign(last.hashes.begin(), last.hashes.begin() + kept);
  shrunk->text = last.text.substr(0, shrunk->ends.back());
  segments_.back() = std::move(shrunk);
}

std::shared_ptr<const chain_json> chain_store::json_view() {
  if (!cached_)
    cached_ = std::make_shared<const chain_json>(chain_json{segments_});
  return cached_;
}

std::vector<block_run> chain_store::runs_from(std::uint64_t first,
                                              std::uint64_t last) const {
  return runs_of(segments_, first, last == 0 || last > size() ? size() : last);
}

} // namespace dlt
