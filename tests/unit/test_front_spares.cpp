// The front's spare frame buffers (net/core.hpp): a native sync relays
// answers of megabytes one after another, and each reuses a buffer whose
// pages are already there instead of mapping a new one; a frame never
// takes a buffer much larger than it needs.

#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>

#include "net/core.hpp"

using namespace dlt::net;

namespace {

constexpr std::size_t mib = 1 << 20;

std::vector<unsigned char> buffer_of(std::size_t capacity) {
  std::vector<unsigned char> b;
  b.reserve(capacity);
  b.resize(100, 7); // given back with bytes in it, as frames are
  return b;
}

} // namespace

TEST_CASE("a large frame reuses the buffer a frame before it used") {
  boost::asio::io_context ioc;
  spare_frames spares(ioc, 2, 16 * mib, std::chrono::seconds(60));
  CHECK(spares.take(4 * mib, 8 * mib).capacity() == 0); // none kept yet

  auto first = buffer_of(4 * mib);
  auto* pages = first.data();
  spares.give(std::move(first));
  CHECK(spares.bytes() >= 4 * mib);
  auto again = spares.take(3 * mib, 6 * mib);
  CHECK(again.data() == pages); // the same memory
  CHECK(again.empty());         // with nothing of the last frame in it
  CHECK(spares.bytes() == 0);   // and no longer kept
}

TEST_CASE("a frame takes the smallest spare that fits, never one far larger") {
  boost::asio::io_context ioc;
  spare_frames spares(ioc, 3, 16 * mib, std::chrono::seconds(60));
  spares.give(buffer_of(8 * mib));
  spares.give(buffer_of(2 * mib));
  spares.give(buffer_of(4 * mib));
  auto kept = spares.bytes();
  // A frame of 1.5 MiB may take 2 to 4.5 MiB: the 2 MiB one.
  auto small = spares.take(3 * mib / 2, 9 * mib / 2);
  CHECK(small.capacity() >= 2 * mib);
  CHECK(small.capacity() < 4 * mib);
  // A frame of 1.1 MiB may take at most 3.3 MiB: none is left that fits,
  // so a small frame cannot hold on to the large buffers.
  CHECK(spares.take(11 * mib / 10, 33 * mib / 10).capacity() == 0);
  CHECK(spares.bytes() == kept - small.capacity());
  // Too small for a frame of 9 MiB: none.
  CHECK(spares.take(9 * mib, 18 * mib).capacity() == 0);
  CHECK(spares.take(3 * mib, 9 * mib).capacity() >= 4 * mib);
  CHECK(spares.take(5 * mib, 16 * mib).capacity() >= 8 * mib);
  CHECK(spares.bytes() == 0);
}

TEST_CASE("the spares are bounded in number and size, keeping the larger") {
  boost::asio::io_context ioc;
  spare_frames spares(ioc, 2, 16 * mib, std::chrono::seconds(60));
  spares.give(buffer_of(mib / 2)); // small: stays with its connection
  CHECK(spares.bytes() == 0);
  spares.give(buffer_of(32 * mib)); // larger than any frame may be
  CHECK(spares.bytes() == 0);
  spares.give(buffer_of(2 * mib));
  spares.give(buffer_of(4 * mib));
  spares.give(buffer_of(3 * mib)); // replaces the 2 MiB one
  auto kept = spares.bytes();
  CHECK(kept >= 7 * mib);
  CHECK(kept < 9 * mib);
  spares.give(buffer_of(2 * mib)); // smaller than both: not kept
  CHECK(spares.bytes() == kept);
  spares.clear();
  CHECK(spares.bytes() == 0);
}

TEST_CASE("the spares are freed once none was asked for a while") {
  boost::asio::io_context ioc;
  spare_frames spares(ioc, 2, 16 * mib, std::chrono::milliseconds(30));
  spares.give(buffer_of(2 * mib));
  spares.give(buffer_of(3 * mib));
  CHECK(spares.bytes() >= 5 * mib); // kept until the loop runs the timer
  ioc.run(); // returns once the idle deadline has passed and fired
  CHECK(spares.bytes() == 0);
}
