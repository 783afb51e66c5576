// The incremental chain reader: any cut of the body gives the one-call
// result; it stops at the first bad block; it holds only the unfinished
// tail of the block being read.

#include <catch2/catch.hpp>

#include <fstream>
#include <random>
#include <string>

#include "model/json_blocks.hpp"
#include "model/json_rules.hpp"

namespace {

dlt::chain make_chain(std::size_t n, const std::string& text = "tx") {
  dlt::chain c;
  c.push_back(dlt::make_genesis(1560174309.2023711));
  for (std::size_t i = 2; i <= n; ++i)
    c.push_back(dlt::seal_block(i, c.back().hash, 1560174309.5 + i * 0.37,
                                {dlt::transaction_json(text + std::to_string(i))}));
  return c;
}

std::string answer(const dlt::chain& c) {
  return "{\"chain\": " + dlt::chain_json_array(c) + ", \"is_valid\": true}";
}

// What a reading gave, to compare readings.
std::string outcome(const dlt::result<dlt::chain>& r) {
  if (!r)
    return "refused: " + r.error();
  std::string s = "chain:";
  for (const auto& b : *r)
    s += " " + b.hash;
  return s;
}

std::string read_in_pieces(const std::string& body,
                           const std::vector<std::size_t>& cuts) {
  dlt::chain_reader reader;
  std::size_t at = 0;
  for (auto cut : cuts) {
    reader.feed(std::string_view(body).substr(at, cut - at));
    at = cut;
  }
  reader.feed(std::string_view(body).substr(at));
  return outcome(reader.finish());
}

// Bodies with every kind of token to cut through: escapes, surrogate
// pairs, raw UTF-8, numbers of every form, words, whitespace, other keys.
std::vector<std::string> awkward_bodies() {
  auto c = make_chain(3);
  std::vector<std::string> bodies = {answer(c)};
  std::string prev = dlt::make_genesis(1.0).hash;
  std::string second =
    "{ \"transactions\" : [ {\"data\":{\"z\":[1e400,-0,1E2,-1.5e-7,\"\\ud83d\\ude00\\u00E9\\n\","
    "\"\xc3\xa9\xf0\x9f\x98\x80\xe4\xb8\xad\",18446744073709551616,true,false,null,NaN,"
    "-Infinity],\"a\":\"\\ud800\",\"a\":\"x\\/y\"}} ] ,\"timestamp\":1560174309.2023711000,"
    "\"previous_hash\":\"" + prev + "\",\"index\":2}";
  auto first = dlt::make_genesis(1.0).json;
  bodies.push_back("\xEF\xBB\xBF {\"length\": 2, \"junk\": {\"k\": [\"]\", 1.5e3]},\n"
                   "\"chain\": [" + first + ",\r\n\t" + second + "] }  ");
  // The same, refused at its second block by a control character.
  std::string bad = second;
  bad.replace(bad.find("x\\/y"), 1, "\x01");
  bodies.push_back("{\"chain\": [" + first + ", " + bad + "]}");
  bodies.push_back("{\"chain\": [" + first + ", " + second.substr(0, 90));
  return bodies;
}

} // namespace

TEST_CASE("a body cut at any point reads as the whole body does") {
  for (const auto& body : awkward_bodies()) {
    INFO(body.substr(0, 200));
    auto whole = outcome(dlt::chain_from_text(body));
    for (std::size_t cut = 0; cut <= body.size(); ++cut) {
      INFO("cut at " << cut);
      REQUIRE(read_in_pieces(body, {cut}) == whole);
    }
    // Byte by byte, and at random points.
    std::vector<std::size_t> every(body.size());
    for (std::size_t i = 0; i < body.size(); ++i)
      every[i] = i;
    CHECK(read_in_pieces(body, every) == whole);
    std::mt19937 rng(7);
    for (int round = 0; round < 50; ++round) {
      std::vector<std::size_t> cuts;
      for (std::size_t at = 0;;) {
        at += 1 + rng() % 40;
        if (at >= body.size())
          break;
        cuts.push_back(at);
      }
      CHECK(read_in_pieces(body, cuts) == whole);
    }
  }
}

TEST_CASE("the valid awkward body gives Python's canonical bytes") {
  auto bodies = awkward_bodies();
  auto r = dlt::chain_from_text(bodies[1]);
  REQUIRE(r);
  REQUIRE(r->size() == 2);
  // json.dumps(json.loads(second block), sort_keys=True), by Python 3.11.
  CHECK((*r)[1].json
        == "{\"index\": 2, \"previous_hash\": \"" + (*r)[0].hash
             + "\", \"timestamp\": 1560174309.2023711, \"transactions\": [{\"data\": "
               "{\"a\": \"x/y\", \"z\": [Infinity, 0, 100.0, -1.5e-07, "
               "\"\\ud83d\\ude00\\u00e9\\n\", \"\\u00e9\\ud83d\\ude00\\u4e2d\", "
               "18446744073709551616, true, false, null, NaN, -Infinity]}}]}");
}

TEST_CASE("chain answers from the fixture read alike in pieces") {
  std::ifstream in(DLT_FIXTURE_DIR "/chain_cases.jsonl");
  REQUIRE(in.good());
  std::string line;
  std::mt19937 rng(11);
  while (std::getline(in, line)) {
    auto c = nlohmann::json::parse(line);
    std::string body;
    auto hex = c[1].get<std::string>();
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
      body += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
    auto whole = outcome(dlt::chain_from_text(body));
    std::vector<std::size_t> cuts;
    for (std::size_t at = 0;;) {
      at += 1 + rng() % 300;
      if (at >= body.size())
        break;
      cuts.push_back(at);
    }
    INFO(body.substr(0, 200));
    CHECK(read_in_pieces(body, cuts) == whole);
    if (c[0] == "refuse" && !c[3].is_null()) {
      dlt::chain_reader reader;
      reader.feed(body);
      CHECK_FALSE(reader.finish());
      CHECK(reader.blocks_read() == c[3].get<std::size_t>());
    }
  }
}

TEST_CASE("reading stops at the first element that is not a valid block") {
  auto c = make_chain(3);
  std::string head = "{\"chain\": [" + c[0].json + ", " + c[1].json + ", {}, ";
  dlt::chain_reader reader;
  CHECK_FALSE(reader.feed(head));
  CHECK(reader.failed());
  CHECK(reader.blocks_read() == 2);
  CHECK_THAT(reader.error(), Catch::Contains("block 3: "));
  // Later bytes are not even looked at.
  CHECK_FALSE(reader.feed("this is not JSON at all"));
  auto r = reader.finish();
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error(), Catch::StartsWith("block 3: block has no \"index\""));

  // A peer's 128 MB of {"chain":[{},{},...]}: refused at its first element,
  // from the first piece, holding almost nothing.
  dlt::chain_reader flood;
  std::string piece = "{\"chain\":[";
  while (piece.size() < 65536)
    piece += "{},";
  CHECK_FALSE(flood.feed(piece));
  CHECK(flood.blocks_read() == 0);
  CHECK(flood.buffered_bytes() < 65536 * 2);
}

TEST_CASE("reading stops at the first block that does not link") {
  auto c = make_chain(5);
  auto forged = c;
  forged[2] = dlt::seal_block(3, c[1].hash, 1.0, {dlt::transaction_json("forged")});
  std::string body = "{\"chain\": [";
  for (std::size_t i = 0; i < 4; ++i)
    body += (i ? ", " : "") + forged[i].json;
  dlt::chain_reader reader;
  CHECK_FALSE(reader.feed(body));
  CHECK(reader.blocks_read() == 3);
  CHECK(reader.error()
        == "block 4 does not link to the block before it (previous_hash is not "
           "the hash of block 3)");

  dlt::chain_reader skipping;
  CHECK_FALSE(skipping.feed("{\"chain\": [" + c[0].json + ", " + c[2].json));
  CHECK(skipping.error() == "block 2 has index 3");

  dlt::chain_reader not_genesis;
  CHECK_FALSE(not_genesis.feed("{\"chain\": [" + c[1].json));
  CHECK(not_genesis.error() == "block 1 has index 2");
}

TEST_CASE("a chain not longer than the caller's is told apart") {
  auto body = answer(make_chain(4));
  dlt::chain_reader reader(4);
  CHECK(reader.feed(body));
  auto r = reader.finish();
  REQUIRE_FALSE(r);
  CHECK(reader.not_longer());
  CHECK(r.error() == "chain of 4 blocks is not longer than 4");
  dlt::chain_reader longer(3);
  longer.feed(body);
  CHECK(longer.finish());
  CHECK_FALSE(longer.not_longer());
  dlt::chain_reader invalid(3);
  invalid.feed("{\"chain\": 5}");
  CHECK_FALSE(invalid.finish());
  CHECK_FALSE(invalid.not_longer());
}

TEST_CASE("only the unfinished tail of the current block is held") {
  // Blocks of 100 KB of transactions, read in pieces of 4 KB: what is held
  // besides the blocks kept stays near one block, however long the chain.
  auto c = make_chain(30, std::string(100000, 'x'));
  auto body = answer(c);
  dlt::chain_reader reader;
  std::size_t most = 0;
  for (std::size_t at = 0; at < body.size(); at += 4096) {
    REQUIRE(reader.feed(std::string_view(body).substr(at, 4096)));
    most = std::max(most, reader.buffered_bytes());
  }
  auto r = reader.finish();
  REQUIRE(r);
  CHECK(r->back().hash == c.back().hash);
  CHECK(most < 4 * 100000);

  // Other keys are read but not kept: a 5 MB string costs nothing held.
  dlt::chain_reader skipping;
  std::string junk = "{\"junk\": \"" + std::string(5 << 20, 'j') + "\", \"chain\": "
                     + dlt::chain_json_array(make_chain(2)) + "}";
  most = 0;
  for (std::size_t at = 0; at < junk.size(); at += 65536) {
    REQUIRE(skipping.feed(std::string_view(junk).substr(at, 65536)));
    most = std::max(most, skipping.buffered_bytes());
  }
  CHECK(skipping.finish());
  CHECK(most < 1 << 20);
}

TEST_CASE("a long number fed byte by byte is read once it ends") {
  // A 200,000-digit float (Python reads it as 1.0): the number is read again
  // only when what is held has doubled, so this stays linear.
  std::string number = "1." + std::string(200000, '0');
  auto c = make_chain(1);
  std::string body = "{\"x\": " + number + ", \"chain\": " + dlt::chain_json_array(c) + "}";
  dlt::chain_reader reader;
  for (char ch : body)
    REQUIRE(reader.feed(std::string_view(&ch, 1)));
  auto r = reader.finish();
  REQUIRE(r);
  CHECK(r->front().hash == c.front().hash);
}

TEST_CASE("a repeated \"chain\" counts as its last, as in Python") {
  auto two = make_chain(2), three = make_chain(3, "other");
  auto r = dlt::chain_from_text("{\"chain\": " + dlt::chain_json_array(three)
                                + ", \"chain\": " + dlt::chain_json_array(two) + "}");
  REQUIRE(r);
  CHECK(r->size() == 2);
  CHECK(r->back().hash == two.back().hash);
}

TEST_CASE("the other keys must still be JSON, within the depth bound") {
  auto chain = dlt::chain_json_array(make_chain(1));
  CHECK(dlt::chain_from_text("{\"x\": " + std::string(1004, '[') + std::string(1004, ']')
                             + ", \"chain\": " + chain + "}"));
  auto deep = dlt::chain_from_text("{\"x\": " + std::string(1005, '[')
                                   + std::string(1005, ']') + ", \"chain\": " + chain + "}");
  REQUIRE_FALSE(deep);
  CHECK_THAT(deep.error(), Catch::Contains("nested deeper than 1004"));
  CHECK_FALSE(dlt::chain_from_text("{\"x\": [1,], \"chain\": " + chain + "}"));
  CHECK_FALSE(dlt::chain_from_text("{\"chain\": " + chain + ", \"x\": \"\xff\"}"));
  // A chain answer's data may nest 1000 levels, not 1001.
  auto block = [](std::size_t levels) {
    return "{\"chain\": [{\"index\": 1, \"previous_hash\": \"0\", \"timestamp\": 1, "
           "\"transactions\": [{\"data\": "
           + std::string(levels, '[') + std::string(levels, ']') + "}]}]}";
  };
  CHECK(dlt::chain_from_text(block(1000)));
  auto past = dlt::chain_from_text(block(1001));
  REQUIRE_FALSE(past);
  CHECK_THAT(past.error(), Catch::Contains("block 1: "));
  CHECK_THAT(past.error(), Catch::Contains("nested deeper than 1003"));
}

TEST_CASE("a native answer's string holds one block or a run of them") {
  auto c = make_chain(6);
  // As a chain holds them: "b1, b2, ...".
  auto joined = [&](std::size_t from, std::size_t to) {
    std::string s;
    for (auto i = from; i < to; ++i)
      s += (s.empty() ? "" : ", ") + c[i].json;
    return s;
  };
  SECTION("one block, or several, become the same blocks and hashes") {
    for (std::size_t n = 1; n <= 6; ++n) {
      auto got = dlt::blocks_from_list_body(joined(0, n));
      REQUIRE(got);
      REQUIRE(got->size() == n);
      for (std::size_t i = 0; i < n; ++i) {
        CHECK((*got)[i].json == c[i].json);
        CHECK((*got)[i].hash == c[i].hash);
        CHECK((*got)[i].index == c[i].index);
      }
    }
    // Indexes and links are the caller's to check: a run from the middle
    // reads as it is.
    auto middle = dlt::blocks_from_list_body(joined(3, 6));
    REQUIRE(middle);
    CHECK(middle->front().index == 4);
  }
  SECTION("anything but blocks joined by commas is refused") {
    auto body = joined(0, 3);
    for (const auto& bad : {std::string{}, std::string{"  "}, "[" + body + "]",
                            body + "]", body + ",", body + ", ", body + ",, x",
                            "," + body, body + " {}", body + "]}, {\"chain\": [" + c[0].json,
                            std::string{"[]"}, std::string{"null"}})
      CHECK_FALSE(dlt::blocks_from_list_body(bad));
    CHECK(dlt::blocks_from_list_body("").error().find("no block") != std::string::npos);
  }
  SECTION("errors name the block from the number given") {
    auto body = joined(0, 2) + ", {\"index\": 3}";
    auto got = dlt::blocks_from_list_body(body, 41);
    REQUIRE_FALSE(got);
    CHECK(got.error().rfind("block 43: ", 0) == 0);
    got = dlt::blocks_from_list_body(joined(0, 2) + "; " + c[2].json, 41);
    REQUIRE_FALSE(got);
    CHECK(got.error().find("after block 42") != std::string::npos);
  }
}
