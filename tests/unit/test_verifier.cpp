// The verifier: a native peer's block list (strings of one block or runs
// of them) arrives in answers and is parsed answer by answer as they come;
// the verdict must be the one reading the whole list in order would give
// (the same chain, or the earliest bad block named), wherever the answers
// are cut.

#include <catch2/catch.hpp>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/verifier.hpp"
#include "ask.hpp"
#include "model/block.hpp"
#include "model/chain.hpp"

namespace {

/// `n` blocks after block `shared` (whose hash is `anchor`), as a native
/// peer sends them: each one's canonical text.
std::vector<std::string> block_texts(std::uint64_t shared,
                                     const std::string& anchor, std::size_t n,
                                     dlt::chain* out = nullptr) {
  std::vector<std::string> texts;
  std::string previous = anchor;
  for (std::size_t i = 1; i <= n; ++i) {
    auto b = dlt::seal_block(shared + i, previous, 1560174309.5 + i,
                             {dlt::transaction_json("tx " + std::to_string(i))});
    previous = std::string{b.hash};
    texts.push_back(b.json);
    if (out)
      out->push_back(std::move(b));
  }
  return texts;
}

/// Verifies `texts` as a native pull does: handed to one verifier in
/// answers (cut at `cuts`, so a bad block or link can fall anywhere in
/// one), then asked for the verdict.
dlt::verified_chain verify(caf::scoped_actor& self,
                           std::vector<std::string> texts, std::uint64_t shared,
                           const std::string& anchor,
                           std::vector<std::size_t> cuts = {1, 9999, 25000}) {
  auto verifier = dlt::spawn_verifier(self->system(), "peer", shared, anchor);
  std::size_t from = 0;
  cuts.push_back(texts.size());
  for (auto to : cuts) {
    to = std::min(to, texts.size());
    if (to <= from)
      continue;
    self->send(verifier, dlt::verify_atom::value,
               std::vector<std::string>(texts.begin() + from, texts.begin() + to));
    from = to;
  }
  return test::ask<dlt::verified_chain>(self, verifier, dlt::verify_atom::value);
}

/// The verified blocks, one by one: {canonical bytes, hash}.
std::vector<std::pair<std::string, std::string>>
blocks_of(const dlt::verified_chain& v) {
  std::vector<std::pair<std::string, std::string>> out;
  if (!v.segments)
    return out;
  std::uint64_t next = v.shared + 1;
  for (const auto& seg : v.segments->segments) {
    CHECK(seg->first == next); // numbered on from the block before
    for (std::size_t k = 0; k < seg->count(); ++k)
      out.emplace_back(std::string{seg->block(seg->first + k)},
                       dlt::digest_hex(seg->hashes[k]));
    next += seg->count();
  }
  return out;
}

} // namespace

TEST_CASE("a long native block list verifies as read in order") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  std::string anchor(64, 'a');
  dlt::chain expected;
  // Long enough for answers of several thousand blocks each.
  auto texts = block_texts(7, anchor, 50000, &expected);

  SECTION("a valid list becomes the same chain, in segments of the chain store's size") {
    auto v = verify(self, texts, 7, anchor);
    REQUIRE(v.result == "ok");
    REQUIRE(v.segments);
    CHECK(v.segments->anchor == anchor);
    auto got = blocks_of(v);
    REQUIRE(got.size() == expected.size());
    CHECK(v.length() == 50007);
    for (std::size_t i = 0; i < expected.size(); ++i)
      if (got[i].first != expected[i].json || got[i].second != expected[i].hash)
        FAIL("block " << i + 8 << " differs");
    // A block per string: copied into segments of ~64 KiB, not a segment
    // per block.
    std::size_t bytes = 0;
    for (const auto& t : texts)
      bytes += t.size() + 2;
    CHECK(v.segments->segments.size() <= bytes / (64 * 1024) + 4);
    for (std::size_t i = 0; i + 1 < v.segments->segments.size(); ++i)
      CHECK(v.segments->segments[i]->text.size() >= 64 * 1024);
  }
  SECTION("the earliest bad block is named, wherever the answers are cut") {
    texts[40000] = "{\"index\": 40008}";
    auto v = verify(self, texts, 7, anchor);
    CHECK(v.result == "invalid");
    CHECK(!v.verified());
    CHECK(v.why_skipped.rfind("block 40008: ", 0) == 0);
    texts[30] = "not json";
    v = verify(self, texts, 7, anchor);
    CHECK(v.why_skipped.rfind("block 38: ", 0) == 0);
  }
  SECTION("a broken link between two answers is found") {
    // Block 25,008 (the first of an answer) re-sealed onto a
    // different previous block: every block parses, the links do not hold.
    auto b = dlt::seal_block(25008, std::string(64, 'b'), 1.0,
                             {dlt::transaction_json("forged")});
    texts[25000] = b.json;
    auto v = verify(self, texts, 7, anchor);
    CHECK(v.result == "invalid");
    CHECK(v.why_skipped.find("invalid chain") != std::string::npos);
  }
  SECTION("runs of blocks in one string read as the same blocks one by one") {
    // As a node sends them: runs joined by ", ", the last block alone.
    std::vector<std::string> runs;
    for (std::size_t i = 0; i + 1 < texts.size(); i += 700) {
      std::string run;
      for (auto j = i; j < std::min(i + 700, texts.size() - 1); ++j)
        run += (run.empty() ? "" : ", ") + texts[j];
      runs.push_back(std::move(run));
    }
    runs.push_back(texts.back());
    auto v = verify(self, runs, 7, anchor, {1, 20, 50});
    REQUIRE(v.result == "ok");
    auto got = blocks_of(v);
    REQUIRE(got.size() == expected.size());
    for (std::size_t i = 0; i < expected.size(); i += 997)
      CHECK(got[i].second == expected[i].hash);
    CHECK(got.back().second == expected.back().hash);
    // Each long canonical run is a segment as it came.
    REQUIRE(v.segments->segments.size() == runs.size());
    for (std::size_t i = 0; i + 1 < runs.size(); ++i)
      CHECK(v.segments->segments[i]->text == runs[i]);
    // A bad block inside a run, in the second half, is named by its place
    // in the whole list (block 7 + 40,001).
    auto& run = runs[40000 / 700];
    auto at = run.find(texts[40000]);
    REQUIRE(at != std::string::npos);
    run.replace(at, texts[40000].size(), "{\"index\": 40008}");
    v = verify(self, runs, 7, anchor, {1, 20, 50});
    CHECK(v.result == "invalid");
    CHECK(v.why_skipped.rfind("block 40008: ", 0) == 0);
  }
  SECTION("a list that does not start on the anchor is refused") {
    auto v = verify(self, texts, 7, std::string(64, 'c'));
    CHECK(v.result == "invalid");
  }
}
