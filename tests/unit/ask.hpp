#pragma once
// Asking an actor from a test and waiting for the answer.

#include <chrono>

#include <catch2/catch.hpp>

#include <caf/scoped_actor.hpp>

#include "actors/spawn.hpp"
#include "model/json_blocks.hpp"

namespace test {

/// Asks `h` and waits for the answer of type T.
template <class T, class Handle, class... Ts>
T ask(caf::scoped_actor& self, const Handle& h, Ts&&... xs) {
  T out{};
  self->request(h, std::chrono::seconds(10), std::forward<Ts>(xs)...)
    .receive([&](T& x) { out = std::move(x); },
             [&](caf::error& err) { FAIL(self->system().render(err)); });
  return out;
}

/// What a chain fetcher delivers for a peer answering `body` (read as the
/// real fetcher reads it, with the same `min_length`).
inline dlt::fetch_result fetched(const std::string& body,
                                 std::uint64_t min_length = 0) {
  dlt::chain_reader reader(min_length);
  reader.feed(body);
  auto c = reader.finish();
  dlt::fetch_result res;
  if (c) {
    res.ok = true;
    res.result = "ok";
    res.chain = std::make_shared<dlt::chain>(std::move(*c));
  } else {
    res.result = reader.not_longer() ? "not_longer" : "invalid";
    res.error = c.error();
  }
  return res;
}

/// A fetch that failed with `result` (a peer_outcome word) and `why`.
inline dlt::fetch_result failed_fetch(std::string result, std::string why) {
  dlt::fetch_result res;
  res.result = std::move(result);
  res.error = std::move(why);
  return res;
}

/// A deadline for requests that carry one (mine): far enough away for any
/// test.
inline dlt::deadline_t soon() {
  return std::chrono::steady_clock::now() + std::chrono::seconds(30);
}

/// Node settings with `gossip` and every other setting at its default.
inline dlt::node_settings with_gossip(dlt::gossip_settings gossip) {
  dlt::node_settings s;
  s.gossip = gossip;
  return s;
}

} // namespace test
