#pragma once
// Asking an actor from a test and waiting for the answer.

#include <chrono>

#include <catch2/catch.hpp>

#include <caf/scoped_actor.hpp>

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

} // namespace test
