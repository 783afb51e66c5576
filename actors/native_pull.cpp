// Consensus with a native peer: its face comes from the links actor, and
// every question goes through our own face (so the peer only ever answers
// our face). First the peer's height; only if that can win, the blocks
// after the last block both hold, found by our block locator, in batches
// of at most native_batch until the peer's height is reached.

#include "actors/consensus.hpp"

#include <algorithm>
#include <functional>

#include "actors/verifier.hpp"
#include "model/json_blocks.hpp"

namespace dlt {
namespace {

/// What a pull from a native peer has gathered so far.
struct native_pull {
  caf::strong_actor_ptr peer;      // its face
  std::uint64_t height = 0;        // the peer's, as it said
  std::uint64_t have = 0;          // the index of the last block received
  /// Parses the answers as they come (from the first answer on, which
  /// names the last block both hold); asked for its verdict at the end.
  verifier_actor verifier;

  native_pull() = default;
  native_pull(const native_pull&) = delete;
  native_pull& operator=(const native_pull&) = delete;
  /// A pull given up (a bad answer, a peer that stopped, a round that
  /// ended) stops its verifier, which would otherwise wait for ever.
  ~native_pull() {
    if (verifier)
      caf::anon_send_exit(verifier, caf::exit_reason::user_shutdown);
  }
};

std::uint64_t ms(std::chrono::milliseconds d) {
  return static_cast<std::uint64_t>(d.count());
}

/// Asks for the next batch: the first answers our locator, every further
/// one continues after the last block received.
void pull_blocks(consensus_ptr self, std::uint64_t id, std::uint64_t index,
                 std::shared_ptr<native_pull> pull,
                 std::vector<std::uint64_t> indexes,
                 std::vector<std::string> hashes) {
  auto& r = self->state.rounds.at(id);
  auto batch = self->state.settings.native_batch;
  bool first = !pull->verifier;
  // With others waiting, one peer may take half of what is left: a peer
  // that claims a height and never delivers cannot use up the round.
  auto left = r.candidates.empty() ? remaining(r) : remaining(r) / 2;
  self
    ->request(self->state.face, left + std::chrono::seconds(1),
              blocks_atom::value, pull->peer, ms(left), std::move(indexes),
              std::move(hashes), batch)
    .then(
      [self, id, index, pull, batch, first](std::uint64_t shared,
                                            std::vector<std::string>& got) {
        auto it = self->state.rounds.find(id);
        if (it == self->state.rounds.end())
          return;
        if (got.size() > batch)
          return skip_peer(self, id, index, "invalid",
                           "sent more blocks than asked for");
        if (first) {
          const auto& loc = it->second.locator;
          auto at = std::find(loc.indexes.begin(), loc.indexes.end(), shared);
          if (shared != 0 && at == loc.indexes.end())
            return skip_peer(self, id, index, "invalid",
                             "answered a fork point we did not offer");
          pull->have = shared;
          pull->verifier = spawn_verifier(
            self->system(), it->second.peers[index].text, shared,
            shared == 0 ? std::string{genesis_previous_hash}
                        : loc.hashes[at - loc.indexes.begin()]);
        } else if (shared != pull->have) {
          return skip_peer(self, id, index, "invalid",
                           "did not continue after the block we named");
        }
        if (!got.empty()) {
          // An answer ends with its last block alone: its index tells how
          // far the peer got, its hash where the next answer continues
          // (the verifier checks that every index and link holds).
          auto last = parse_block_text(got.back());
          if (!last)
            return skip_peer(self, id, index, "invalid",
                             "the last block of an answer: " + last.error());
          if (last->index <= pull->have)
            return skip_peer(self, id, index, "invalid",
                             "an answer that ends before it starts");
          pull->have = last->index;
          self->send(pull->verifier, verify_atom::value, std::move(got));
          if (pull->have < pull->height)
            return pull_blocks(self, id, index, pull, {pull->have},
                               {last->hash});
        }
        auto r = take_fetch(self, id, index);
        if (!r)
          return;
        verify_tail(self, id, *r, index, std::exchange(pull->verifier, {}));
      },
      [self, id, index](caf::error& err) { skip_peer(self, id, index, err); });
}

std::string not_longer(std::uint64_t height, std::uint64_t min) {
  return "chain of " + std::to_string(height) + " blocks is not longer than "
         + std::to_string(min);
}

/// Pulls the highest candidate that can still win, unless a pull is under
/// way; candidates that can no longer win are done (not longer).
void next_pull(consensus_ptr self, std::uint64_t id) {
  auto it = self->state.rounds.find(id);
  if (it == self->state.rounds.end())
    return;
  auto& r = it->second;
  if (r.pulling)
    return;
  std::sort(r.candidates.begin(), r.candidates.end(), std::greater<>{});
  while (!r.candidates.empty()) {
    auto [height, index] = r.candidates.front();
    r.candidates.erase(r.candidates.begin());
    if (r.fetch_done[index])
      continue;
    if (height > min_height(r)) {
      r.pulling = index;
      auto pull = std::make_shared<native_pull>();
      pull->peer = r.handles[index];
      pull->height = height;
      pull_blocks(self, id, index, pull, r.locator.indexes, r.locator.hashes);
      return;
    }
    // Quietly: the caller finishes the round when nothing is left.
    r.fetch_done[index] = true;
    --r.fetches_open;
    r.outcomes[index] = {r.peers[index].text, "not_longer",
                         not_longer(height, min_height(r))};
  }
}

void pull_from(consensus_ptr self, std::uint64_t id, std::uint64_t index,
               caf::strong_actor_ptr peer) {
  auto& r = self->state.rounds.at(id);
  auto left = remaining(r);
  self
    ->request(self->state.face, left + std::chrono::seconds(1),
              head_atom::value, peer, ms(left))
    .then(
      [self, id, index, peer](std::uint64_t height, std::string&) {
        auto it = self->state.rounds.find(id);
        if (it == self->state.rounds.end() || it->second.fetch_done[index])
          return;
        auto& r = it->second;
        if (height <= min_height(r))
          return skip_peer(self, id, index, "not_longer",
                           not_longer(height, min_height(r)));
        r.handles[index] = peer;
        r.candidates.emplace_back(height, index);
        next_pull(self, id);
        maybe_finish(self, id);
      },
      [self, id, index](caf::error& err) { skip_peer(self, id, index, err); });
}

} // namespace

void pull_done(consensus_ptr self, std::uint64_t id, std::uint64_t index) {
  auto it = self->state.rounds.find(id);
  if (it == self->state.rounds.end() || it->second.pulling != index)
    return;
  it->second.pulling.reset();
  next_pull(self, id);
}

result<block> parse_block_text(const std::string& json) {
  return block_from_text(json);
}

bool recent_hashes::insert(const std::string& hash) {
  if (!set_.insert(hash).second)
    return false;
  order_.push_back(hash);
  if (order_.size() > capacity) {
    set_.erase(order_.front());
    order_.pop_front();
  }
  return true;
}

void recent_hashes::forget(const std::string& hash) {
  set_.erase(hash);
}

void start_native_pull(consensus_ptr self, std::uint64_t id,
                       std::uint64_t index) {
  auto& r = self->state.rounds.at(id);
  if (r.handles[index])
    return pull_from(self, id, index, r.handles[index]);
  auto left = remaining(r);
  self
    ->request(self->state.links, left + std::chrono::seconds(1),
              link_atom::value, r.peers[index].text, ms(left))
    .then(
      [self, id, index](caf::strong_actor_ptr& face) {
        if (self->state.rounds.count(id))
          pull_from(self, id, index, std::move(face));
      },
      [self, id, index](caf::error& err) {
        skip_peer(self, id, index, "unreachable",
                  "cannot link: " + error_text(err));
      });
}

} // namespace dlt
