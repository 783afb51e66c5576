// The native actor: the node's face to natively linked nodes, and the only
// actor published with --caf-port.
//
// It answers remote nodes itself, from the published chain (the latest
// stored state), so no other actor answers a remote node and no internal
// handle travels in an answer. It is also the only actor that sends to
// other nodes: the consensus and links actors ask it to, so every request,
// answer and announcement between two nodes goes face to face. Announcements
// and hellos name no actor: the sender of the message is the other node's
// face. Internal handlers serve this node's actors only.
//
// What other nodes send is checked twice: by the front (net/rules.hpp:
// sizes, shapes, counts, requests in flight) before CAF reads it, and here
// (locators pair up, hashes are hashes) with a budget per node: so many
// announcements and hellos, and so many bytes of answers, a second.

#include <algorithm>
#include <chrono>
#include <map>

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/log.hpp"
#include "actors/spawn.hpp"

namespace dlt {
namespace {

/// Bounds on what a remote node may ask for at once.
constexpr std::size_t max_locator = 256;
constexpr std::uint64_t max_transfer = 100000;
/// Canonical bytes of blocks in one answer; the asker pages on. Each
/// answer costs a round trip, but the asker parses each answer while the
/// next one travels, and what is left after the last one arrives is about
/// one answer's parsing: a full sync of 100,000 blocks (18.5 MB) on
/// loopback took 0.15 s in 4 MiB answers, 0.135 s in 2 and 0.127-0.144 s
/// in 1 (with buffers kept between answers, see net/core.hpp). 2 MiB keeps
/// a sync over a 50 ms link to ten round trips.
constexpr std::size_t max_answer_bytes = 2 << 20;
/// An answer's blocks go as strings of about this many bytes (runs of
/// consecutive blocks, copied whole from the chain's segments).
constexpr std::size_t run_bytes = 256 << 10;

/// What one peer node may cost us a second. Over budget, announcements and
/// hellos are dropped (the peer's blocks still come by consensus), answers
/// carry fewer blocks (the asker pages on) or, with nothing left, an error.
/// The front (net/) bounds sizes, shapes and the requests in flight.
constexpr double notes_per_second = 1000; // announcements
constexpr double notes_burst = 2000;
constexpr double hellos_per_second = 1;
constexpr double hellos_burst = 5;
constexpr double answer_bytes_per_second = 32 << 20;
constexpr double answer_bytes_burst = 32 << 20; // at least one whole answer
/// Small answers count as this many bytes.
constexpr double small_answer_bytes = 256;
/// Peers whose budgets are kept; the one heard from longest ago makes room.
constexpr std::size_t max_budgets = 1024;

using clock = std::chrono::steady_clock;

struct peer_budget {
  double notes = notes_burst;
  double hellos = hellos_burst;
  double bytes = answer_bytes_burst;
  clock::time_point last = clock::now();
};

struct face_state {
  published_chain_ptr published;
  std::string http_address;
  consensus_actor consensus;
  links_actor links;
  std::map<caf::node_id, peer_budget> budgets;
  static inline const char* name = "native";
};

using face_ptr = peer_actor::stateful_pointer<face_state>;

/// Internal handlers only serve actors of this node.
bool from_here(face_ptr self) {
  const auto& sender = self->current_sender();
  return sender && sender->node() == self->node();
}

caf::error not_yours() {
  return caf::make_error(caf::sec::unexpected_message,
                         "internal to the node");
}

/// The sending node's budget, refilled for the time since it was last
/// used; null for anonymous messages (refused).
peer_budget* budget_of(face_ptr self) {
  const auto& sender = self->current_sender();
  if (!sender)
    return nullptr;
  auto& all = self->state.budgets;
  auto it = all.find(sender->node());
  if (it == all.end()) {
    if (all.size() >= max_budgets)
      all.erase(std::min_element(all.begin(), all.end(),
                                 [](const auto& a, const auto& b) {
                                   return a.second.last < b.second.last;
                                 }));
    it = all.emplace(sender->node(), peer_budget{}).first;
  }
  auto& b = it->second;
  auto now = clock::now();
  std::chrono::duration<double> dt = now - b.last;
  b.last = now;
  b.notes = std::min(notes_burst, b.notes + dt.count() * notes_per_second);
  b.hellos = std::min(hellos_burst, b.hellos + dt.count() * hellos_per_second);
  b.bytes = std::min(answer_bytes_burst,
                     b.bytes + dt.count() * answer_bytes_per_second);
  return &b;
}

bool is_hash(const std::string& s) {
  return s.size() == 64 && digest_from_hex(s).has_value();
}

using blocks_answer = caf::result<std::uint64_t, std::vector<std::string>>;

/// Blocks first to last as the strings of a blocks answer: runs of
/// consecutive blocks of one segment, joined by ", " as it holds them (one
/// copy each), about run_bytes at most; the last block alone, so the asker
/// reads where the answer ends without parsing the rest.
std::vector<std::string> answer_texts(const chain_json& c, std::uint64_t first,
                                      std::uint64_t last) {
  std::vector<std::string> out;
  if (first > last)
    return out;
  for (const auto& r : runs_of(c.segments, first, last - 1))
    for (auto k = r.from; k < r.to;) {
      auto begin = r.begin_of(k);
      auto j = k;
      while (j + 1 < r.to && r.ends[j + 1] - begin <= run_bytes)
        ++j;
      out.emplace_back(r.text.substr(begin, r.ends[j] - begin));
      k = j + 1;
    }
  out.emplace_back(c.block(last));
  return out;
}

blocks_answer blocks_after(face_ptr self, const std::vector<std::uint64_t>& indexes,
                           const std::vector<std::string>& hashes,
                           std::uint64_t max) {
  if (indexes.size() != hashes.size() || indexes.size() > max_locator)
    return caf::make_error(caf::sec::invalid_argument,
                           "a block locator has as many indexes as hashes, "
                           "and at most "
                             + std::to_string(max_locator));
  auto* budget = budget_of(self);
  if (!budget)
    return not_yours();
  if (budget->bytes <= 0)
    return caf::make_error(caf::sec::request_timeout,
                           "answer budget spent; ask again later");
  auto cap = std::min<double>(max_answer_bytes, budget->bytes);
  auto view = self->state.published->load();
  std::uint64_t shared = 0;
  for (std::size_t i = 0; i < indexes.size(); ++i) {
    if (indexes[i] <= shared || indexes[i] > view.height)
      continue;
    auto h = digest_from_hex(hashes[i]);
    if (h && *h == view.blocks->hash(indexes[i]))
      shared = indexes[i];
  }
  auto end = std::min<std::uint64_t>(view.height,
                                     shared + std::min(max, max_transfer));
  // The blocks that fit: shared + 1 to last (the asker asks again after
  // the last block it got).
  std::size_t bytes = 0;
  auto last = shared;
  for (auto i = shared + 1; i <= end; ++i) {
    auto size = view.blocks->block(i).size();
    if (last > shared && bytes + size > cap)
      break;
    bytes += size;
    last = i;
  }
  budget->bytes -= std::max<double>(bytes, small_answer_bytes);
  return blocks_answer(shared, answer_texts(*view.blocks, shared + 1, last));
}

peer_actor::behavior_type native_behavior(face_ptr self,
                                          published_chain_ptr published,
                                          std::string http_address) {
  self->state.published = std::move(published);
  self->state.http_address = std::move(http_address);
  return {
    // -- what other nodes ask ------------------------------------------------------
    [self](head_atom) -> caf::result<std::uint64_t, std::string> {
      auto* budget = budget_of(self);
      if (!budget)
        return not_yours();
      budget->bytes -= small_answer_bytes;
      auto view = self->state.published->load();
      return caf::result<std::uint64_t, std::string>(view.height,
                                                      view.tip_hash);
    },
    [self](blocks_atom, const std::vector<std::uint64_t>& indexes,
           const std::vector<std::string>& hashes, std::uint64_t max) {
      return blocks_after(self, indexes, hashes, max);
    },
    [self](announce_atom, std::uint64_t index, std::string& hash) {
      auto* budget = budget_of(self);
      if (!budget || budget->notes < 1 || index == 0 || !is_hash(hash))
        return;
      budget->notes -= 1;
      if (auto& c = self->state.consensus)
        self->send(c, announced_atom::value, index, std::move(hash),
                   self->current_sender());
    },
    [self](hello_atom) {
      auto* budget = budget_of(self);
      if (!budget || budget->hellos < 1)
        return;
      budget->hellos -= 1;
      if (auto& l = self->state.links)
        self->send(l, hello_atom::value, self->current_sender());
    },
    [self](info_atom) -> caf::result<std::string> {
      auto* budget = budget_of(self);
      if (!budget)
        return not_yours();
      budget->bytes -= small_answer_bytes;
      return self->state.http_address;
    },
    // -- internal: this node's actors, through us ------------------------------
    [self](head_atom, caf::strong_actor_ptr& peer,
           std::uint64_t ms) -> caf::result<std::uint64_t, std::string> {
      if (!from_here(self))
        return not_yours();
      auto rp = self->make_response_promise<std::uint64_t, std::string>();
      self
        ->request(caf::actor_cast<peer_actor>(peer),
                  std::chrono::milliseconds(ms), head_atom::value)
        .then(
          [rp](std::uint64_t height, std::string& tip) mutable {
            rp.deliver(height, std::move(tip));
          },
          [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
      return rp;
    },
    [self](blocks_atom, caf::strong_actor_ptr& peer, std::uint64_t ms,
           std::vector<std::uint64_t>& indexes, std::vector<std::string>& hashes,
           std::uint64_t max) -> blocks_answer {
      if (!from_here(self))
        return not_yours();
      auto rp = self->make_response_promise<std::uint64_t,
                                            std::vector<std::string>>();
      self
        ->request(caf::actor_cast<peer_actor>(peer),
                  std::chrono::milliseconds(ms), blocks_atom::value,
                  std::move(indexes), std::move(hashes), max)
        .then(
          [rp](std::uint64_t shared, std::vector<std::string>& got) mutable {
            rp.deliver(shared, std::move(got));
          },
          [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
      return rp;
    },
    [self](info_atom, caf::strong_actor_ptr& peer,
           std::uint64_t ms) -> caf::result<std::string> {
      if (!from_here(self))
        return not_yours();
      auto rp = self->make_response_promise<std::string>();
      self
        ->request(caf::actor_cast<peer_actor>(peer),
                  std::chrono::milliseconds(ms), info_atom::value)
        .then([rp](std::string& http) mutable { rp.deliver(std::move(http)); },
              [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
      return rp;
    },
    [self](announce_atom, caf::strong_actor_ptr& peer, std::uint64_t index,
           std::string& hash) {
      if (from_here(self) && peer)
        self->send(caf::actor_cast<peer_actor>(peer), announce_atom::value,
                   index, std::move(hash));
    },
    [self](hello_atom, caf::strong_actor_ptr& peer) {
      if (from_here(self) && peer)
        self->send(caf::actor_cast<peer_actor>(peer), hello_atom::value);
    },
    [self](consensus_actor& consensus, links_actor& links) {
      // No sender check: these handles cannot be serialized, so no other
      // node can send this message.
      self->state.consensus = std::move(consensus);
      self->state.links = std::move(links);
    },
  };
}

} // namespace

peer_actor spawn_native(caf::actor_system& sys, published_chain_ptr published,
                        std::string http_address) {
  return sys.spawn(native_behavior, std::move(published),
                   std::move(http_address));
}

} // namespace dlt
