// Issue 10, item 6: a reorg is stored whole or not at all. With
// --requeue-orphans the chain asks the mempool for its share of a reorg
// and stores both in one commit; when that share does not come (the
// mempool is stuck, fails, or is gone), nothing of the reorg may be stored
// or published, and the node stops (the fatal callback: exit 3 in main).
// The actors are then started again from the ledger, which must hold the
// state from before the reorg.

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/spawn.hpp"
#include "ask.hpp"
#include "storage/ledger_store.hpp"
#include "temp_dir.hpp"

using namespace std::chrono_literals;
using test::ask;

namespace {

struct scratch_dir : test::temp_dir {
  scratch_dir() : test::temp_dir("harden") {}
};

std::shared_ptr<dlt::ledger_store> open_store(const std::string& dir) {
  auto store = dlt::ledger_store::open(dir);
  REQUIRE(store);
  return std::shared_ptr<dlt::ledger_store>(std::move(*store));
}

/// How the fake mempool fails to give its share of a reorg.
enum class stuck_mode { never_answers_then_gone, answers_an_error, gone_already };

/// A mempool whose reconcile never succeeds; every other message is
/// answered as an empty mempool would.
dlt::mempool_actor::behavior_type failing_mempool(stuck_mode mode) {
  return {
    [](dlt::add_atom, const std::string&) { return std::uint64_t{0}; },
    [](dlt::take_atom) { return dlt::tx_batch{}; },
    [](dlt::confirm_atom, const std::vector<std::int64_t>&) {},
    [](dlt::stored_atom) {},
    [](dlt::restore_atom) {},
    [mode](dlt::reconcile_atom, const dlt::tx_list&,
           const dlt::tx_list&) -> caf::result<dlt::mempool_delta> {
      if (mode == stuck_mode::answers_an_error)
        return caf::make_error(caf::sec::runtime_error, "mempool failed");
      // Left in the mailbox: the ask waits until the actor is gone.
      return caf::skip;
    },
    [](dlt::size_atom) { return std::uint64_t{0}; },
    [](dlt::pending_atom, std::uint64_t) { return dlt::pending_list{}; },
    [](dlt::flush_atom) {},
  };
}

std::vector<std::string> jsons_of(const std::vector<dlt::stored_tx>& txs) {
  std::vector<std::string> out;
  for (const auto& t : txs)
    out.push_back(t.json + "@" + std::to_string(t.seq));
  return out;
}

} // namespace

TEST_CASE("a reorg whose mempool share does not come stores nothing and stops the node") {
  for (auto mode : {stuck_mode::never_answers_then_gone, stuck_mode::answers_an_error,
                    stuck_mode::gone_already}) {
    CAPTURE(static_cast<int>(mode));
    scratch_dir dir;
    std::atomic<int> fatal_calls{0};
    std::string fatal_why;
    std::mutex why_mutex;
    {
      caf::actor_system_config cfg;
      caf::actor_system sys{cfg};
      caf::scoped_actor self{sys};
      auto store = open_store(dir.path);
      REQUIRE(store->load());
      auto storage = dlt::spawn_storage(sys, store, nullptr);
      auto mempool = sys.spawn(failing_mempool, mode);
      auto published = std::make_shared<dlt::published_chain>();
      auto chain = dlt::spawn_chain(
        sys, {}, {}, storage, mempool, published, {},
        [&](const std::string& why) {
          std::lock_guard<std::mutex> guard{why_mutex};
          fatal_why = why;
          ++fatal_calls;
        });
      // Our chain: a genesis block and a block this node mined; two
      // transactions pending in the ledger.
      auto tip = ask<dlt::chain_tip>(self, chain, dlt::tip_atom::value);
      auto mined = std::make_shared<const dlt::block>(dlt::seal_block(
        2, tip.hash, 2.0, {dlt::transaction_json("mined here")}));
      REQUIRE(ask<bool>(self, chain, dlt::append_atom::value, mined, dlt::batch_origin{}));
      dlt::ledger_change pending;
      pending.txs_added = {{1, dlt::transaction_json("pending 1")},
                           {2, dlt::transaction_json("pending 2")}};
      ask<std::uint64_t>(self, storage, dlt::commit_atom::value, pending);
      auto view_before = published->load();
      REQUIRE(view_before.height == 2);

      // A longer chain from another genesis orphans our mined block.
      auto theirs = std::make_shared<dlt::chain>(dlt::chain{dlt::make_genesis(7.0)});
      while (theirs->size() < 4)
        theirs->push_back(dlt::seal_block(theirs->size() + 1, theirs->back().hash,
                                          7.0 + theirs->size(),
                                          {dlt::transaction_json("theirs")}));
      if (mode == stuck_mode::gone_already) {
        caf::anon_send_exit(mempool, caf::exit_reason::kill);
        std::this_thread::sleep_for(100ms);
      }
      bool answered_ok = false;
      caf::error answered_err;
      auto replace = [&](std::chrono::milliseconds wait) {
        self->request(chain, wait, dlt::replace_atom::value, std::uint64_t{0}, theirs,
                      true, std::string{"peer:1"})
          .receive([&](dlt::consensus_outcome&) { answered_ok = true; },
                   [&](caf::error& err) { answered_err = err; });
      };
      if (mode == stuck_mode::never_answers_then_gone) {
        // While the mempool holds its share back, nothing changes anywhere:
        // the chain does not answer, publishes nothing and stores nothing.
        replace(1500ms);
        CHECK_FALSE(answered_ok);
        CHECK(answered_err == caf::sec::request_timeout);
        CHECK(published->load().height == 2);
        CHECK(published->load().tip_hash == view_before.tip_hash);
        CHECK(fatal_calls == 0);
        // The mempool goes away with the request still in its mailbox.
        caf::anon_send_exit(mempool, caf::exit_reason::kill);
      } else {
        replace(10s);
        CHECK_FALSE(answered_ok);
        CHECK(answered_err);
      }
      for (int i = 0; i < 100 && fatal_calls == 0; ++i)
        std::this_thread::sleep_for(50ms);
      CHECK(fatal_calls == 1);
      {
        std::lock_guard<std::mutex> guard{why_mutex};
        CHECK_THAT(fatal_why, Catch::Contains("mempool"));
      }
      CHECK(published->load().height == 2);
      CHECK(published->load().tip_hash == view_before.tip_hash);
      caf::anon_send_exit(chain, caf::exit_reason::user_shutdown);
      caf::anon_send_exit(storage, caf::exit_reason::user_shutdown);
      caf::anon_send_exit(mempool, caf::exit_reason::kill);
    }
    // Started again from the ledger: the state from before the reorg,
    // with the mined block still ours and the pending rows in place.
    auto store = open_store(dir.path);
    auto loaded = store->load();
    REQUIRE(loaded);
    REQUIRE(loaded->blocks.size() == 2);
    CHECK(loaded->blocks[1].json.find("mined here") != std::string::npos);
    CHECK(loaded->own == std::vector<std::string>{loaded->blocks[1].hash});
    CHECK(jsons_of(loaded->pending)
          == std::vector<std::string>{dlt::transaction_json("pending 1") + "@1",
                                      dlt::transaction_json("pending 2") + "@2"});
    // ... and actors started from it serve that chain.
    caf::actor_system_config cfg;
    caf::actor_system sys{cfg};
    caf::scoped_actor self{sys};
    auto storage = dlt::spawn_storage(sys, store, nullptr);
    auto a = dlt::spawn_node_actors(sys, [](auto&&...) {}, dlt::node_settings{},
                                    std::move(*loaded), storage);
    auto tip = ask<dlt::chain_tip>(self, a.chain, dlt::tip_atom::value);
    CHECK(tip.height == 2);
    CHECK(ask<std::uint64_t>(self, a.mempool, dlt::size_atom::value) == 2);
    dlt::stop_node_actors(a);
    caf::anon_send_exit(storage, caf::exit_reason::user_shutdown);
  }
}
