// The three block hashes of API.md (taken from the reference notebook).

#include <catch2/catch.hpp>

#include "model/block.hpp"

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
