// Chain validation: links, indexes, shapes; linear and iterative.

#include <catch2/catch.hpp>

#include "model/chain.hpp"
#include "model/json_parse.hpp"

namespace {

dlt::chain make_chain(std::size_t n) {
  dlt::chain c;
  c.reserve(n);
  c.push_back(dlt::make_genesis(1560174309.2023711));
  for (std::size_t i = 2; i <= n; ++i)
    c.push_back(dlt::seal_block(i, c.back().hash, 1560174309.0 + i,
                                {dlt::transaction_json(static_cast<int>(i))}));
  return c;
}

nlohmann::json as_json(const dlt::chain& c) {
  return nlohmann::json::parse(dlt::chain_json_array(c));
}

} // namespace

TEST_CASE("a chain built by sealing blocks is valid, and survives JSON") {
  auto c = make_chain(50);
  CHECK_FALSE(dlt::validation_error(c));
  auto back = dlt::chain_from_json(as_json(c));
  REQUIRE(back);
  REQUIRE(back->size() == 50);
  CHECK(back->back().hash == c.back().hash);
}

TEST_CASE("broken chains are refused with the reason") {
  auto c = make_chain(5);
  SECTION("empty") {
    CHECK(dlt::validation_error({}));
  }
  SECTION("a block that does not link to the one before") {
    c[3].previous_hash = c[1].hash;
    auto err = dlt::validation_error(c);
    REQUIRE(err);
    CHECK_THAT(*err, Catch::Contains("block 4"));
  }
  SECTION("indexes that skip") {
    auto j = as_json(c);
    j[2]["index"] = 7;
    auto r = dlt::chain_from_json(j);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error(), Catch::Contains("index"));
  }
  SECTION("a genesis block whose previous_hash is not \"0\"") {
    auto j = as_json(c);
    j.erase(0); // the chain now starts at block 2
    REQUIRE_FALSE(dlt::chain_from_json(j));
  }
  SECTION("a tampered transaction breaks the next link") {
    auto j = as_json(c);
    j[1]["transactions"][0]["data"] = "forged";
    auto r = dlt::chain_from_json(j);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error(), Catch::Contains("block 3"));
  }
}

TEST_CASE("blocks of the wrong shape are refused") {
  auto good = nlohmann::json::parse(dlt::make_genesis(1.0).json);
  auto refused = [&](auto mutate) {
    auto b = good;
    mutate(b);
    return !dlt::block_from_json(b);
  };
  CHECK_FALSE(refused([](auto&) {}));
  CHECK(refused([](auto& b) { b.erase("timestamp"); }));
  CHECK(refused([](auto& b) { b["extra"] = 1; }));
  CHECK(refused([](auto& b) { b["index"] = 0; }));
  CHECK(refused([](auto& b) { b["index"] = -3; }));
  CHECK(refused([](auto& b) { b["index"] = 1.0; }));
  CHECK(refused([](auto& b) { b["index"] = "1"; }));
  CHECK(refused([](auto& b) { b["previous_hash"] = 0; }));
  CHECK(refused([](auto& b) { b["timestamp"] = "now"; }));
  CHECK(refused([](auto& b) { b["transactions"] = "none"; }));
  CHECK(refused([](auto& b) { b["transactions"] = {1, 2}; }));
  CHECK(refused([](auto& b) { b["transactions"][0]["more"] = 1; }));
  CHECK(refused([](auto& b) { b = nlohmann::json::array(); }));
}

TEST_CASE("validation is iterative: a million blocks validate") {
  auto c = make_chain(1000000);
  CHECK_FALSE(dlt::validation_error(c));
  c[999998].previous_hash = "tampered";
  auto err = dlt::validation_error(c);
  REQUIRE(err);
  CHECK_THAT(*err, Catch::Contains("block 999999"));
}

TEST_CASE("orphaned transactions: ours after the fork, minus what the new chain carries") {
  dlt::chain ours{dlt::make_genesis(1.0)};
  auto push = [](dlt::chain& c, std::vector<std::string> txs) {
    std::vector<std::string> canon;
    for (auto& t : txs)
      canon.push_back(dlt::transaction_json(t));
    c.push_back(dlt::seal_block(c.size() + 1, c.back().hash, 1.0 + c.size(), canon));
  };
  push(ours, {"shared"});
  auto theirs = ours;
  push(ours, {"a", "b"});
  push(ours, {"c"});
  push(theirs, {"b"});
  push(theirs, {"x"});
  push(theirs, {"y"});
  auto r = dlt::reorg(ours, theirs);
  CHECK(r.orphaned == std::vector<std::string>{dlt::transaction_json("a"),
                                               dlt::transaction_json("c")});
  std::sort(r.included.begin(), r.included.end());
  CHECK(r.included == std::vector<std::string>{dlt::transaction_json("x"),
                                               dlt::transaction_json("y")});
  // Only the blocks the filter accepts (a node's own) count as orphaned.
  auto only_last = dlt::reorg(ours, theirs, [&](const dlt::block& b) {
    return b.hash == ours.back().hash;
  });
  CHECK(only_last.orphaned == std::vector<std::string>{dlt::transaction_json("c")});
  // A different genesis: everything but the genesis transaction.
  dlt::chain other{dlt::make_genesis(2.0)};
  push(other, {"z"});
  push(other, {"w"});
  push(other, {"v"});
  push(other, {"u"});
  CHECK(dlt::reorg(ours, other).orphaned.size() == 4);
}
