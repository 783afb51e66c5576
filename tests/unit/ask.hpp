#pragma once
// Asking an actor from a test and waiting for the answer.

#include <chrono>

#include <catch2/catch.hpp>

#include <caf/scoped_actor.hpp>

#include "actors/spawn.hpp"

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
