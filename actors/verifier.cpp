#include "actors/verifier.hpp"

#include <optional>

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/chain_store.hpp"
#include "model/json_blocks.hpp"

namespace dlt {
namespace {

/// A string of canonical blocks at least this long becomes a segment of the
/// chain as it is; shorter ones are copied into segments of the chain
/// store's size (a peer sending a block per string costs no more than a
/// chain of our own).
constexpr std::size_t own_segment_bytes = chain_store::segment_bytes / 2;

struct verifier_state {
  std::string peer;
  std::uint64_t shared = 0; // the last block both hold
  std::string anchor;       // its hash
  std::uint64_t next = 0;   // the index of the next block
  std::string last_hash;    // the hash of the block before it
  /// The blocks taken so far, as the chain store holds blocks.
  json_segments segments;
  std::shared_ptr<json_segment> open; // filled by copies, not yet closed
  /// The blocks of one string, reused (their memory stays warm).
  chain scratch;
  /// Why the earliest bad block is bad (empty: none so far).
  std::string failed;
  static inline const char* name = "verifier";
};

using verifier_ptr = verifier_actor::stateful_pointer<verifier_state>;

void close_open(verifier_state& st) {
  if (st.open && st.open->count() > 0)
    st.segments.push_back(std::move(st.open));
  st.open.reset();
}

/// Keeps the checked blocks of `text` (st.scratch), which follow every block
/// kept before: the string itself becomes a segment when it is a long
/// canonical run (no block copied), else they are copied into the open one.
void keep(verifier_state& st, std::string& text) {
  const auto& blocks = st.scratch;
  if (text.size() >= own_segment_bytes) {
    auto seg = std::make_shared<json_segment>();
    if (match_run(text, blocks.data(), blocks.size(), seg->ends)
          == blocks.size()
        && seg->ends.back() == text.size()) {
      close_open(st);
      seg->first = st.next;
      seg->hashes.reserve(blocks.size());
      for (const auto& b : blocks)
        seg->hashes.push_back(digest_from_hex(b.hash).value_or(digest{}));
      seg->text = std::move(text);
      st.segments.push_back(std::move(seg));
      return;
    }
  }
  auto index = st.next;
  for (const auto& b : blocks) {
    if (st.open && chain_store::full(*st.open))
      close_open(st);
    if (!st.open)
      st.open = chain_store::new_segment(index);
    st.open->add(b.json, digest_from_hex(b.hash).value_or(digest{}));
    ++index;
  }
}

/// Parses one answer onto the blocks before it, checks their indexes and
/// links, and keeps them; each string is freed (or kept as a segment) once
/// read, so an answer's text and its blocks are not both held whole. (Two
/// threads per answer were tried: the transfer of the next answer needs
/// the other core, and syncs took longer.)
void take_answer(verifier_state& st, std::vector<std::string>& texts) {
  for (auto& text : texts) {
    if (!st.failed.empty())
      return; // the earliest bad block is named already
    st.scratch.clear();
    // Errors name blocks by their place in the whole chain.
    auto got = blocks_from_list_body(text, st.next, std::move(st.scratch));
    if (!got) {
      st.failed = got.error();
      return;
    }
    st.scratch = std::move(*got);
    if (auto err = links_error(st.last_hash, st.next, st.scratch)) {
      st.failed = "invalid chain: " + *err;
      return;
    }
    keep(st, text);
    st.last_hash = std::string{st.scratch.back().hash};
    st.next += st.scratch.size();
    std::string{}.swap(text);
  }
}

verified_chain verdict(verifier_state& st) {
  verified_chain out;
  out.peer = st.peer;
  out.shared = st.shared;
  close_open(st);
  if (!st.failed.empty()) {
    out.result = "invalid";
    out.why_skipped = st.failed;
  } else {
    out.segments = std::make_shared<segment_tail>(
      segment_tail{std::move(st.segments), st.anchor});
  }
  return out;
}

verifier_actor::behavior_type
verifier_behavior(verifier_ptr self, std::string peer, std::uint64_t shared,
                  std::string anchor) {
  auto& st = self->state;
  st.peer = std::move(peer);
  st.shared = shared;
  st.next = shared + 1;
  st.last_hash = anchor;
  st.anchor = std::move(anchor);
  return {
    [self](verify_atom, std::vector<std::string>& texts) {
      take_answer(self->state, texts);
    },
    [self](verify_atom) {
      self->quit(); // one pull per verifier
      return verdict(self->state);
    },
  };
}

} // namespace

verifier_actor spawn_verifier(caf::actor_system& sys, std::string peer,
                              std::uint64_t shared, std::string anchor) {
  return sys.spawn<caf::detached>(verifier_behavior, std::move(peer), shared,
                                  std::move(anchor));
}

} // namespace dlt
