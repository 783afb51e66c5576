#include <catch2/catch.hpp>

#include "model/peer_address.hpp"

using dlt::parse_peer_address;

TEST_CASE("http://host:port and host:port register alike") {
  auto a = parse_peer_address("http://localhost:8082");
  auto b = parse_peer_address("localhost:8082");
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a->text == "localhost:8082");
  CHECK(b->text == "localhost:8082");
  CHECK(a->port == 8082);
  CHECK(parse_peer_address("HTTP://LocalHost:8082/")->text == "localhost:8082");
  CHECK(parse_peer_address("127.0.0.1:5000")->host == "127.0.0.1");
  CHECK(parse_peer_address("http://example.org")->text == "example.org");
  CHECK(parse_peer_address("http://example.org")->port == 80);
  CHECK(parse_peer_address("[::1]:8081")->text == "[::1]:8081");
  CHECK(parse_peer_address("[::1]:8081")->host == "::1");
}

TEST_CASE("what is not an HTTP peer address is refused") {
  for (auto bad : {"", "http://", "https://host:1", "caf://host:1", "host:",
                   "host:0", "host:65536", "host:12x", "user@host:1",
                   "host:1/path", "ho st:1", "-host:1", "[::1", "[zz]:1",
                   "host:1?x", "a..b:1", ":8080"})
    CHECK_FALSE(parse_peer_address(bad));
}
