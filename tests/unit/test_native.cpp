// Native linking between two actor systems in one process, over loopback
// CAF (the multi-process behaviour is covered by tests/e2e/test_native.py).

#include <catch2/catch.hpp>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/spawn.hpp"
#include "ask.hpp"

using namespace std::chrono_literals;
using test::ask;

TEST_CASE("native sync pages through a fork longer than one batch") {
  // Two nodes in two actor systems, linked over loopback by CAF: a has 20
  // blocks, b has 12 of its own and asks at most 5 blocks per message. One
  // batch would give b a 5-block candidate, shorter than its own chain:
  // b must keep asking until it holds a's whole chain.
  auto silent = [](const dlt::peer_address&, std::chrono::milliseconds,
                   std::uint64_t, std::function<void(dlt::fetch_result)> done) {
    done(test::failed_fetch("unreachable", "no HTTP here"));
  };
  caf::actor_system_config cfg_a;
  dlt::configure_native(cfg_a);
  caf::actor_system sys_a{cfg_a};
  caf::actor_system_config cfg_b;
  dlt::configure_native(cfg_b);
  caf::actor_system sys_b{cfg_b};
  dlt::gossip_settings small_batches;
  small_batches.peer_timeout = 5s;
  small_batches.native_batch = 5;
  auto a = dlt::spawn_node_actors(sys_a, silent, test::with_gossip({5s}));
  auto b = dlt::spawn_node_actors(sys_b, silent, test::with_gossip(small_batches));
  caf::scoped_actor self_a{sys_a};
  caf::scoped_actor self_b{sys_b};
  auto grow = [](caf::scoped_actor& self, const dlt::node_actors& n, int blocks,
                 const std::string& tag) {
    for (int i = 0; i < blocks; ++i) {
      ask<std::uint64_t>(self, n.mempool, dlt::add_atom::value,
                         dlt::transaction_json(tag + std::to_string(i)));
      ask<dlt::mine_outcome>(self, n.miner, dlt::mine_atom::value, test::soon());
    }
  };
  grow(self_a, a, 19, "a");
  grow(self_b, b, 11, "b");
  auto port = sys_a.middleman().publish(a.native, 0, "127.0.0.1");
  REQUIRE(port);
  auto out = ask<dlt::register_outcome>(
    self_b, b.peers, dlt::register_atom::value,
    std::vector<std::string>{"caf://127.0.0.1:" + std::to_string(*port)});
  REQUIRE(out.invalid.empty());
  auto result = ask<dlt::consensus_outcome>(self_b, b.consensus,
                                            dlt::consensus_atom::value);
  CHECK(result.replaced);
  CHECK(result.view.height == 20);
  auto theirs = ask<dlt::chain_view>(self_a, a.chain, dlt::snapshot_atom::value);
  CHECK(result.view.blocks->str() == theirs.blocks->str());
  dlt::stop_node_actors(a);
  dlt::stop_node_actors(b);
}
