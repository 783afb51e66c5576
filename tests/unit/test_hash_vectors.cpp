// The three block hashes of API.md (taken from the reference notebook).

#include <catch2/catch.hpp>

#include <cstdio>
#include <string>

#include "model/block.hpp"
#include "model/sha256.hpp"

TEST_CASE("genesis blocks of the notebook hash as in Python") {
  CHECK(dlt::make_genesis(1560174309.2023711).hash
        == "fb59fa77488f083417deed0bd1804b82971d24d9155696ebf8b0f2be72715d58");
  CHECK(dlt::make_genesis(1560174315.7712932).hash
        == "92713c5e1f4fd2e2333aca7edf679a9450fe5a3f3da3144528c50b34bb2c19f9");
}

TEST_CASE("block 2 of node 1 hashes as in Python") {
  auto b = dlt::seal_block(
    2, "fb59fa77488f083417deed0bd1804b82971d24d9155696ebf8b0f2be72715d58",
    1560174323.420221, {dlt::transaction_json("Hello, Node 1!")});
  CHECK(b.json
        == R"({"index": 2, "previous_hash": "fb59fa77488f083417deed0bd1804b82971d24d9155696ebf8b0f2be72715d58", "timestamp": 1560174323.420221, "transactions": [{"data": "Hello, Node 1!"}]})");
  CHECK(b.hash
        == "bd53905538b4dd6909186ca7535b79b49280f4de5efeca92100d689d3fcadcfa");
}

TEST_CASE("a block parsed from JSON hashes like the block we sealed") {
  auto sealed = dlt::seal_block(7, "abc", 1.5, {dlt::transaction_json({1, "x"})});
  auto parsed = dlt::block_from_json(nlohmann::json::parse(sealed.json));
  REQUIRE(parsed);
  CHECK(parsed->json == sealed.json);
  CHECK(parsed->hash == sealed.hash);
  CHECK(parsed->index == 7);
  CHECK(parsed->previous_hash == "abc");
}

TEST_CASE("hashes go between 64 lowercase hex digits and 32 bytes exactly") {
  // Every byte value in every position: written as Python's hexdigest does,
  // and read back to the same bytes.
  for (int v = 0; v < 256; ++v) {
    dlt::digest d;
    for (std::size_t i = 0; i < d.size(); ++i)
      d[i] = static_cast<std::uint8_t>(v + 37 * i);
    auto text = dlt::digest_hex(d);
    REQUIRE(text.size() == 64);
    CHECK(text.find_first_not_of("0123456789abcdef") == std::string::npos);
    char expect[3];
    std::snprintf(expect, sizeof expect, "%02x", d[0]);
    CHECK(text.substr(0, 2) == expect);
    auto back = dlt::digest_from_hex(text);
    REQUIRE(back);
    CHECK(*back == d);
  }
  CHECK(dlt::sha256_hex("")
        == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  // Any character but 0-9 and a-f, anywhere, is refused (uppercase too:
  // hashes are compared as text, and Python writes lowercase).
  std::string good = dlt::sha256_hex("x");
  for (std::size_t pos = 0; pos < 64; ++pos)
    for (int c = 0; c < 256; ++c) {
      auto t = good;
      t[pos] = static_cast<char>(c);
      bool digit = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
      if (dlt::digest_from_hex(t).has_value() != digit)
        FAIL("position " << pos << ", character " << c);
    }
  CHECK_FALSE(dlt::digest_from_hex(good.substr(1)));
  CHECK_FALSE(dlt::digest_from_hex(good + "0"));
}
