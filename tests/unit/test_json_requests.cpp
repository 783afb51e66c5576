// Client request bodies from text: the answers users get (the reference's
// own messages where it has them), Python's values refused by default and
// accepted with python_values, and the depth rule at and just past its
// bound.

#include <catch2/catch.hpp>

#include <string>

#include "model/json_requests.hpp"
#include "model/json_rules.hpp"

namespace {

std::string nested(std::size_t levels, const std::string& inside = "") {
  return std::string(levels, '[') + inside + std::string(levels, ']');
}

std::string tx_with_data(const std::string& data) {
  return "{\"data\": " + data + "}";
}

} // namespace

TEST_CASE("a transaction request becomes the canonical {\"data\": v}") {
  auto tx = dlt::transaction_request(
    R"({ "extra":[1,2], "data" : {"b":1.50,"a":"caf\u00e9", "b": 2E0} })", false);
  REQUIRE(tx);
  CHECK(*tx == R"({"data": {"a": "caf\u00e9", "b": 2.0}})");
  // Raw UTF-8 is escaped as Python escapes it.
  auto raw = dlt::transaction_request("{\"data\": \"\xc3\xa9\xf0\x9f\x98\x80\"}", false);
  REQUIRE(raw);
  CHECK(*raw == R"({"data": "\u00e9\ud83d\ude00"})");
}

TEST_CASE("a transaction request without data answers the reference's \"Missing values\"") {
  for (std::string body : {"", "  \r\n\t", "{}", "[]", "[\"data\"]", "null", "42",
                           "\"data\"", "{\"Data\": 1}", "true"}) {
    INFO(body);
    auto tx = dlt::transaction_request(body, false);
    REQUIRE_FALSE(tx);
    CHECK(tx.error() == dlt::missing_values);
  }
  // "data": null is a value like any other.
  CHECK(dlt::transaction_request("{\"data\": null}", false));
}

TEST_CASE("malformed transaction requests are refused with the reason") {
  struct bad { std::string body, why; };
  for (const auto& c : {bad{"{", "ends"}, bad{"not json", "expected a value"},
                        bad{"{\"data\": }", "expected a value"},
                        bad{"{\"data\": 1} trailing", "more text"},
                        bad{"{\"data\": \"\xff\xfe\"}", "UTF-8"},
                        bad{"{\"data\": \"a\x01\"}", "control character"},
                        bad{std::string("\x00\x01\x02", 3), "expected a value"},
                        bad{"{\"data\": 01}", "expected ','"},
                        bad{"{\"data\": 1e}", "exponent"},
                        bad{"{\"data\": \"\\x\"}", "escape"},
                        bad{"{\"data\": 1" + std::string(4300, '0') + "}", "4301 digits"}}) {
    INFO(c.body.substr(0, 60));
    auto tx = dlt::transaction_request(c.body, true);
    REQUIRE_FALSE(tx);
    CHECK_THAT(tx.error(), Catch::StartsWith("Malformed JSON body: "));
    CHECK_THAT(tx.error(), Catch::Contains(c.why));
  }
}

TEST_CASE("values only Python writes are refused by default, naming the problem") {
  struct value { std::string data, why, canonical; };
  for (const auto& c : {
         value{"NaN", "NaN", "NaN"},
         value{"Infinity", "Infinity is not standard JSON", "Infinity"},
         value{"-Infinity", "-Infinity is not standard JSON", "-Infinity"},
         value{"1e999", "beyond the double range", "Infinity"},
         value{"-1e400", "beyond the double range", "-Infinity"},
         value{"18446744073709551616", "an integer beyond 64 bits", "18446744073709551616"},
         value{"-9223372036854775809", "an integer beyond 64 bits", "-9223372036854775809"},
         value{"\"\\ud800\"", "a lone surrogate \\ud800", "\"\\ud800\""},
         value{"\"x\\udfffy\"", "a lone surrogate \\udfff", "\"x\\udfffy\""},
         value{"\"\xed\xa0\x80\"", "a lone surrogate \\ud800", "\"\\ud800\""},
         value{"[1, {\"k\": NaN}]", "NaN", "[1, {\"k\": NaN}]"}}) {
    INFO(c.data);
    auto refused = dlt::transaction_request(tx_with_data(c.data), false);
    REQUIRE_FALSE(refused);
    CHECK_THAT(refused.error(), Catch::StartsWith("Refused JSON body: "));
    CHECK_THAT(refused.error(), Catch::Contains(c.why));
    CHECK_THAT(refused.error(), Catch::Contains("--python-json"));
    auto accepted = dlt::transaction_request(tx_with_data(c.data), true);
    REQUIRE(accepted);
    CHECK(*accepted == tx_with_data(c.canonical));
  }
  // The limits of 64 bits themselves are standard.
  CHECK(dlt::transaction_request(tx_with_data("18446744073709551615"), false));
  CHECK(dlt::transaction_request(tx_with_data("-9223372036854775808"), false));
  // A surrogate pair is a character, not a lone surrogate.
  CHECK(dlt::transaction_request(tx_with_data("\"\\ud83d\\ude00\""), false));
}

TEST_CASE("a request's data may nest max_data_depth levels, not one more") {
  REQUIRE(dlt::max_data_depth == 512);
  auto at = dlt::transaction_request(tx_with_data(nested(512)), false);
  REQUIRE(at);
  CHECK(*at == tx_with_data(nested(512)));
  auto past = dlt::transaction_request(tx_with_data(nested(513)), false);
  REQUIRE_FALSE(past);
  CHECK_THAT(past.error(), Catch::Contains("nested deeper than 513 levels"));
  CHECK_THAT(past.error(), Catch::Contains("data may nest 512"));
  // Other keys are bounded alike.
  CHECK(dlt::transaction_request("{\"data\": 1, \"x\": " + nested(512) + "}", false));
  CHECK_FALSE(dlt::transaction_request("{\"data\": 1, \"x\": " + nested(513) + "}", false));
  // Far deeper: refused at the bound, without recursing.
  auto deep = dlt::transaction_request(tx_with_data(nested(1000000)), true);
  REQUIRE_FALSE(deep);
  CHECK_THAT(deep.error(), Catch::Contains("513"));
}

TEST_CASE("the register request answers the edge's messages") {
  using dlt::register_request;
  for (std::string body : {"", " ", "{}", "{\"nodes\": []}", "{\"nodes\": null}",
                           "[]", "[\"a:1\"]", "7"}) {
    INFO(body);
    auto r = register_request(body, false);
    REQUIRE_FALSE(r);
    CHECK(r.error() == "Missing list of nodes");
  }
  for (std::string body : {"{\"nodes\": \"localhost:1\"}", "{\"nodes\": {\"a\": 1}}",
                           "{\"nodes\": 5}", "{\"nodes\": false}"}) {
    INFO(body);
    auto r = register_request(body, false);
    REQUIRE_FALSE(r);
    CHECK(r.error() == "\"nodes\" must be a list of node addresses");
  }
  auto r = register_request(R"({"nodes": ["a:1", [ "x" ,{"b":1,"a":2}]]})", false);
  REQUIRE_FALSE(r);
  CHECK(r.error()
        == R"(every node address must be a string, got ["x", {"a": 2, "b": 1}])");
  r = register_request(R"({"nodes": [null]})", false);
  REQUIRE_FALSE(r);
  CHECK(r.error() == "every node address must be a string, got null");
  r = register_request("{nodes}", false);
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error(), Catch::StartsWith("Malformed JSON body: "));
  r = register_request(R"({"nodes": [NaN]})", false);
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error(), Catch::StartsWith("Refused JSON body: "));

  auto ok = register_request(
    R"({"nodes": ["http://localhost:8082", "caf\u00e9:1", "a\"b"], "other": 1})",
    false);
  REQUIRE(ok);
  CHECK(*ok == std::vector<std::string>{"http://localhost:8082", "caf\xc3\xa9:1",
                                        "a\"b"});
}

TEST_CASE("endpoints without input accept a blank body or any JSON") {
  using dlt::no_input_body_problem;
  for (std::string body : {"", " \n", "{}", "[1, 2]", "null", "\"x\"", "{\"a\": {}}"})
    CHECK_FALSE(no_input_body_problem(body, false));
  auto bad = no_input_body_problem("{oops", false);
  REQUIRE(bad);
  CHECK_THAT(*bad, Catch::StartsWith("Malformed JSON body: "));
  auto nan = no_input_body_problem("{\"a\": NaN}", false);
  REQUIRE(nan);
  CHECK_THAT(*nan, Catch::StartsWith("Refused JSON body: "));
  CHECK_FALSE(no_input_body_problem("{\"a\": NaN}", true));
  CHECK(no_input_body_problem(nested(514), false));
  CHECK_FALSE(no_input_body_problem(nested(513), false));
}

TEST_CASE("canonicalize honours the depth of its rules exactly") {
  for (std::size_t bound : {0u, 1u, 2u, 513u, 1003u}) {
    INFO(bound);
    dlt::json_rules rules{bound, false};
    CHECK(dlt::canonicalize("1", rules));
    if (bound > 0)
      CHECK(dlt::canonicalize(nested(bound), rules));
    auto past = dlt::canonicalize(nested(bound + 1), rules);
    REQUIRE_FALSE(past);
    CHECK_THAT(past.error(),
               Catch::Contains("nested deeper than " + std::to_string(bound) + " levels"));
  }
  // Objects count as arrays do.
  std::string objects;
  for (int i = 0; i < 4; ++i)
    objects += "{\"k\": ";
  objects += "1}}}}";
  CHECK(dlt::canonicalize(objects, {4, false}));
  CHECK_FALSE(dlt::canonicalize(objects, {3, false}));
}
