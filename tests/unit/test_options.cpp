#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <unistd.h>

#include "config/options.hpp"

namespace {

dlt::command_line parse(std::vector<const char*> args) {
  args.insert(args.begin(), "dlt-node");
  return dlt::parse_command_line(static_cast<int>(args.size()), args.data());
}

} // namespace

TEST_CASE("defaults") {
  auto c = parse({});
  REQUIRE(c.what == dlt::command_line::action::run);
  CHECK(c.options.port == 8081);
  CHECK(c.options.host == "127.0.0.1");
  CHECK(c.options.peer_timeout_ms == 5000);
}

TEST_CASE("both --key value and --key=value") {
  auto c = parse({"--port", "9001", "--host=0.0.0.0", "--peer-timeout-ms=250"});
  REQUIRE(c.what == dlt::command_line::action::run);
  CHECK(c.options.port == 9001);
  CHECK(c.options.host == "0.0.0.0");
  CHECK(c.options.peer_timeout_ms == 250);
}

TEST_CASE("bad command lines are errors that say what is wrong") {
  auto expect_error = [](std::vector<const char*> args, const char* text) {
    auto c = parse(args);
    REQUIRE(c.what == dlt::command_line::action::error);
    CHECK_THAT(c.error, Catch::Contains(text));
  };
  expect_error({"--nope"}, "unknown option '--nope'");
  expect_error({"--nope=1"}, "unknown option '--nope'");
  expect_error({"--port"}, "needs a value");
  expect_error({"--port", "70000"}, "between 0 and 65535");
  expect_error({"--port", "-1"}, "whole number");
  expect_error({"--peer-timeout-ms", "0"}, "between");
  expect_error({"stray"}, "unexpected argument");
  expect_error({"--config", "/nonexistent/x.conf"}, "cannot read");
}

TEST_CASE("requeue-orphans is a switch, off by default") {
  CHECK_FALSE(parse({}).options.requeue_orphans);
  CHECK(parse({"--requeue-orphans"}).options.requeue_orphans);
  CHECK(parse({"--requeue-orphans", "--port", "1"}).options.requeue_orphans);
  CHECK_FALSE(parse({"--requeue-orphans", "false"}).options.requeue_orphans);
  CHECK(parse({"--requeue-orphans=yes"}).options.requeue_orphans);
  CHECK(parse({"--requeue-orphans=maybe"}).what
        == dlt::command_line::action::error);
}

TEST_CASE("help and version") {
  CHECK(parse({"--help"}).what == dlt::command_line::action::help);
  CHECK(parse({"--version"}).what == dlt::command_line::action::version);
  CHECK_THAT(dlt::usage_text(), Catch::Contains("--peer-timeout-ms"));
}

TEST_CASE("config file, overridden by the command line") {
  auto path = std::string{"/tmp/dlt_options_test_"} + std::to_string(::getpid())
              + ".conf";
  {
    std::ofstream out(path);
    out << "# comment\nport = 9100\n  peer-timeout-ms=700  # inline\n\n";
  }
  auto c = parse({"--config", path.c_str(), "--port", "9200"});
  REQUIRE(c.what == dlt::command_line::action::run);
  CHECK(c.options.port == 9200);
  CHECK(c.options.peer_timeout_ms == 700);
  {
    std::ofstream out(path);
    out << "port = 1\nbogus = 2\n";
  }
  auto bad = parse({"--config", path.c_str()});
  REQUIRE(bad.what == dlt::command_line::action::error);
  CHECK_THAT(bad.error, Catch::Contains(":2: unknown option 'bogus'"));
  std::remove(path.c_str());
}

TEST_CASE("the shipped config file parses and holds the defaults") {
  auto c = parse({"--config", DLT_SOURCE_DIR "/config/dlt-node.conf"});
  REQUIRE(c.what == dlt::command_line::action::run);
  dlt::node_options defaults;
  CHECK(c.options.port == defaults.port);
  CHECK(c.options.peer_timeout_ms == defaults.peer_timeout_ms);
  CHECK(c.options.max_body_bytes == defaults.max_body_bytes);
  CHECK(c.options.max_connections == defaults.max_connections);
}
