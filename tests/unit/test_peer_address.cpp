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

TEST_CASE("native peers keep their caf:// scheme and need a port") {
  auto a = parse_peer_address("CAF://LocalHost:4242/");
  REQUIRE(a);
  CHECK(a->native);
  CHECK(a->host == "localhost");
  CHECK(a->port == 4242);
  CHECK(a->text == "caf://localhost:4242");
  auto v6 = parse_peer_address("caf://[::1]:7");
  REQUIRE(v6);
  CHECK(v6->text == "caf://[::1]:7");
  CHECK_FALSE(parse_peer_address("host:1")->native);
  for (auto bad : {"caf://", "caf://host", "caf://host:0", "caf://http://h:1",
                   "caf://user@h:1", "caf://h:1/x"})
    CHECK_FALSE(parse_peer_address(bad));
}

TEST_CASE("what is not a peer address is refused") {
  for (auto bad : {"", "http://", "https://host:1", "ftp://host:1", "host:",
                   "host:0", "host:65536", "host:12x", "user@host:1",
                   "host:1/path", "ho st:1", "-host:1", "[::1", "[zz]:1",
                   "host:1?x", "a..b:1", ":8080"})
    CHECK_FALSE(parse_peer_address(bad));
}
