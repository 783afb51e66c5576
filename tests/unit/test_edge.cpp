// The edge actor's own guarantees: every request is answered exactly once,
// also when the actor it asks never answers.

#include <catch2/catch.hpp>

#include <condition_variable>
#include <mutex>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/spawn.hpp"
#include "http/edge.hpp"

using namespace std::chrono_literals;

namespace {

/// Collects the one response a responder delivers.
struct answer_box {
  std::mutex m;
  std::condition_variable cv;
  std::vector<dlt::rest_response> answers;

  dlt::responder_ptr responder() {
    return std::make_shared<dlt::responder>([this](dlt::rest_response r) {
      std::lock_guard<std::mutex> guard{m};
      answers.push_back(std::move(r));
      cv.notify_all();
    });
  }

  bool wait_for(std::size_t n, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock{m};
    return cv.wait_for(lock, timeout, [&] { return answers.size() >= n; });
  }
};

/// A mempool that takes transactions and never answers.
dlt::mempool_actor::behavior_type silent_mempool() {
  return {
    [](dlt::add_atom, const std::string&) -> caf::result<std::uint64_t> {
      return caf::delegated<std::uint64_t>{}; // answer never comes
    },
    [](dlt::take_atom) { return dlt::tx_batch{}; },
    [](dlt::confirm_atom, const std::vector<std::int64_t>&) {},
    [](dlt::stored_atom) {},
    [](dlt::restore_atom) {},
    [](dlt::reconcile_atom, const dlt::tx_list&, const dlt::tx_list&) {
      return dlt::mempool_delta{};
    },
    [](dlt::size_atom) { return std::uint64_t{0}; },
    [](dlt::pending_atom, std::uint64_t) { return dlt::pending_list{}; },
    [](dlt::flush_atom) {},
  };
}

} // namespace

TEST_CASE("a transaction whose mempool never answers gets a 503 after the deadline") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto actors = dlt::spawn_node_actors(
    sys, [](auto&&...) {}, dlt::node_settings{});
  auto real_mempool = actors.mempool;
  actors.mempool = sys.spawn(silent_mempool);
  dlt::edge_settings settings;
  settings.hot_ask_timeout = 200ms;
  auto edge = dlt::spawn_edge(sys, actors, settings);
  answer_box box;
  dlt::rest_request tx;
  tx.route = dlt::route_id::transactions_new;
  tx.method = "POST";
  tx.path = "/transactions/new";
  tx.tx = R"({"data": 1})";
  caf::anon_send(edge, tx, box.responder());
  REQUIRE(box.wait_for(1, 5s)); // the sweep runs once a second
  CHECK(box.answers.size() == 1);
  CHECK(box.answers[0].status == 503);
  CHECK_THAT(box.answers[0].prefix, Catch::Contains("outcome is unknown"));
  // And the routing still answers everything else.
  dlt::rest_request nope;
  nope.method = "GET";
  nope.path = "/nope";
  caf::anon_send(edge, nope, box.responder());
  REQUIRE(box.wait_for(2, 5s));
  CHECK(box.answers[1].status == 404);
  caf::anon_send_exit(edge, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(actors.mempool, caf::exit_reason::user_shutdown);
  actors.mempool = real_mempool;
  dlt::stop_node_actors(actors);
}

TEST_CASE("a responder dropped without an answer answers 503 itself") {
  answer_box box;
  box.responder(); // dropped at once
  REQUIRE(box.wait_for(1, 1s));
  CHECK(box.answers[0].status == 503);
}
