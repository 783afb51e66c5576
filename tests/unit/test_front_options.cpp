// The native links' options: limits, mutual TLS (all three files or none)
// and the refusal to publish unauthenticated on a non-loopback address.

#include <catch2/catch.hpp>

#include "config/options.hpp"

namespace {

dlt::command_line parse(std::vector<const char*> args) {
  args.insert(args.begin(), "dlt-node");
  return dlt::parse_command_line(static_cast<int>(args.size()), args.data());
}

std::string error_of(std::vector<const char*> args) {
  auto c = parse(args);
  REQUIRE(c.what == dlt::command_line::action::error);
  return c.error;
}

} // namespace

TEST_CASE("native limits: defaults, values and bounds") {
  auto c = parse({});
  REQUIRE(c.what == dlt::command_line::action::run);
  CHECK(c.options.max_native_message_bytes == 64ull << 20);
  CHECK(c.options.max_native_connections == 256);
  c = parse({"--max-native-message-bytes", "33554432",
             "--max-native-connections=16"});
  REQUIRE(c.what == dlt::command_line::action::run);
  CHECK(c.options.max_native_message_bytes == 32ull << 20);
  CHECK(c.options.max_native_connections == 16);
  // Below one full answer (16 MiB of blocks), or beyond what BASP's 32-bit
  // length can say.
  CHECK_THAT(error_of({"--max-native-message-bytes", "1048576"}),
             Catch::Contains("between"));
  CHECK_THAT(error_of({"--max-native-message-bytes", "4294967296"}),
             Catch::Contains("between"));
  CHECK_THAT(error_of({"--max-native-connections", "0"}),
             Catch::Contains("between"));
}

TEST_CASE("TLS files come all three or not at all") {
  auto c = parse({"--caf-tls-cert", "n.pem", "--caf-tls-key", "n.key",
                  "--caf-tls-ca", "ca.pem"});
  REQUIRE(c.what == dlt::command_line::action::run);
  CHECK(c.options.caf_tls_cert == "n.pem");
  CHECK(c.options.caf_tls_key == "n.key");
  CHECK(c.options.caf_tls_ca == "ca.pem");
  CHECK_THAT(error_of({"--caf-tls-cert", "n.pem", "--caf-tls-ca", "ca.pem"}),
             Catch::Contains("go together"));
  CHECK_THAT(error_of({"--caf-tls-key", "n.key"}), Catch::Contains("go together"));
}

TEST_CASE("publishing on a non-loopback address needs TLS or --caf-insecure") {
  for (auto host : {"127.0.0.1", "127.0.0.2", "localhost", "::1"}) {
    auto c = parse({"--host", host, "--caf-port", "0"});
    CHECK(c.what == dlt::command_line::action::run);
  }
  for (auto host : {"0.0.0.0", "10.0.0.5", "::", "example.org"}) {
    auto why = error_of({"--host", host, "--caf-port", "9081"});
    CHECK_THAT(why, Catch::Contains("without TLS"));
    CHECK_THAT(why, Catch::Contains("--caf-insecure"));
  }
  // Not published: nothing to refuse.
  CHECK(parse({"--host", "0.0.0.0"}).what == dlt::command_line::action::run);
  // With TLS, or when told.
  CHECK(parse({"--host", "0.0.0.0", "--caf-port", "9081", "--caf-tls-cert", "a",
               "--caf-tls-key", "b", "--caf-tls-ca", "c"})
          .what
        == dlt::command_line::action::run);
  auto insecure = parse({"--host", "0.0.0.0", "--caf-port", "9081", "--caf-insecure"});
  REQUIRE(insecure.what == dlt::command_line::action::run);
  CHECK(insecure.options.caf_insecure);
}

TEST_CASE("the shipped config file holds the native defaults") {
  auto c = parse({"--config", DLT_SOURCE_DIR "/config/dlt-node.conf"});
  REQUIRE(c.what == dlt::command_line::action::run);
  dlt::node_options defaults;
  CHECK(c.options.max_native_message_bytes == defaults.max_native_message_bytes);
  CHECK(c.options.max_native_connections == defaults.max_native_connections);
  CHECK(c.options.caf_insecure == false);
}
