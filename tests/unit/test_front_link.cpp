// Two nodes in two actor systems linked through their fronts (net/front.hpp)
// over loopback: the connector opens the connection and hands back the
// face, sync pages through a long fork, push gossip arrives, and the fronts
// count what they carry. Attacks on a real node: tests/e2e/test_native_front.py.

#include <catch2/catch.hpp>

#include <future>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/spawn.hpp"
#include "ask.hpp"
#include "net/front.hpp"

using namespace std::chrono_literals;
using test::ask;

namespace {

struct fronted_node {
  caf::actor_system_config cfg;
  caf::actor_system sys;
  std::shared_ptr<dlt::net::front> front;
  dlt::node_actors actors;
  caf::scoped_actor self;

  explicit fronted_node(dlt::gossip_settings gossip)
    : sys((dlt::configure_native(cfg), cfg)), self(sys) {
    std::string error;
    front = dlt::net::front::start(sys, {}, error);
    REQUIRE(front);
    auto silent = [](const dlt::peer_address&, std::chrono::milliseconds,
                     std::uint64_t, std::function<void(dlt::fetch_result)> done) {
      dlt::fetch_result none;
      none.error = "no HTTP here";
      none.result = "unreachable";
      done(std::move(none));
    };
    auto settings = test::with_gossip(gossip);
    settings.connect = front->connector();
    actors = dlt::spawn_node_actors(sys, silent, settings);
    front->set_face(caf::actor_cast<caf::strong_actor_ptr>(actors.native));
  }

  ~fronted_node() {
    front->stop();
    dlt::stop_node_actors(actors);
  }

  void grow(int blocks, const std::string& tag) {
    for (int i = 0; i < blocks; ++i) {
      ask<std::uint64_t>(self, actors.mempool, dlt::add_atom::value,
                         dlt::transaction_json(tag + std::to_string(i)));
      ask<dlt::mine_outcome>(self, actors.miner, dlt::mine_atom::value,
                             test::soon());
    }
  }

  std::string chain() {
    return ask<dlt::chain_view>(self, actors.chain, dlt::snapshot_atom::value)
      .blocks->str();
  }
};

} // namespace

TEST_CASE("nodes link, sync and gossip through their fronts") {
  dlt::gossip_settings a_settings;
  a_settings.peer_timeout = 5s;
  a_settings.push = true;
  dlt::gossip_settings b_settings = a_settings;
  b_settings.native_batch = 5; // a fork longer than one batch
  fronted_node a{a_settings};
  fronted_node b{b_settings};
  a.grow(19, "a");
  b.grow(11, "b");
  std::string error;
  auto port = a.front->listen("127.0.0.1", 0, error);
  REQUIRE(port);
  auto out = ask<dlt::register_outcome>(
    b.self, b.actors.peers, dlt::register_atom::value,
    std::vector<std::string>{"caf://127.0.0.1:" + std::to_string(*port)});
  REQUIRE(out.invalid.empty());
  // The link's hello may start a sync of its own that adopts a's chain
  // first; then this round finds nothing longer. Either way, once it has
  // answered, b holds a's chain.
  auto result = ask<dlt::consensus_outcome>(b.self, b.actors.consensus,
                                            dlt::consensus_atom::value);
  CHECK(result.view.height == 20);
  CHECK(b.chain() == a.chain());
  // b said hello: a's next block is pushed to it.
  a.grow(1, "pushed");
  for (int i = 0; i < 200 && b.chain() != a.chain(); ++i)
    std::this_thread::sleep_for(20ms);
  CHECK(b.chain() == a.chain());
  auto sa = a.front->stats();
  auto sb = b.front->stats();
  CHECK(sa.accepted == 1);
  CHECK(sa.connections == 1);
  CHECK(sb.connections == 1);
  CHECK(sa.violations == 0);
  CHECK(sb.violations == 0);
}

TEST_CASE("a link to nothing fails with a reason, within its deadline") {
  fronted_node b{{}};
  std::promise<std::string> why;
  auto connect = b.front->connector();
  dlt::peer_address nowhere;
  nowhere.host = "127.0.0.1";
  nowhere.port = 1; // nothing listens there
  nowhere.native = true;
  nowhere.text = "caf://127.0.0.1:1";
  connect(nowhere, 2000ms, [&](caf::strong_actor_ptr face, std::string error) {
    CHECK(!face);
    why.set_value(error);
  });
  auto f = why.get_future();
  REQUIRE(f.wait_for(5s) == std::future_status::ready);
  CHECK(f.get().find("cannot connect") != std::string::npos);
  CHECK(b.front->stats().connections == 0);
}
