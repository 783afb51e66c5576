// The ledger store and the storage actor over a real SQLite file in a
// temporary directory.

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <sqlite3.h>

#include "actors/chain_store.hpp"
#include "actors/spawn.hpp"
#include "ask.hpp"
#include "storage/ledger_store.hpp"
#include "query_int.hpp"
#include "temp_dir.hpp"

using namespace std::chrono_literals;
using test::ask;

namespace {

struct temp_dir : test::temp_dir {
  temp_dir() : test::temp_dir("store") {}
};

std::unique_ptr<dlt::ledger_store> open_store(const std::string& dir) {
  auto store = dlt::ledger_store::open(dir);
  REQUIRE(store);
  return std::move(*store);
}

dlt::chain make_chain(std::size_t n) {
  dlt::chain c{dlt::make_genesis(1.0)};
  while (c.size() < n)
    c.push_back(dlt::seal_block(c.size() + 1, c.back().hash, 1.0 + c.size(),
                                {dlt::transaction_json(c.size())}));
  return c;
}

std::vector<dlt::block_row> shared(const dlt::chain& c, std::size_t from = 0) {
  std::vector<dlt::block_row> out;
  for (auto i = from; i < c.size(); ++i)
    out.push_back(dlt::row_of(std::make_shared<const dlt::block>(c[i])));
  return out;
}

/// The number of committed rows of `table`, as another reader of the file
/// sees it (the node holds the directory's lock, not the file).
std::int64_t committed_rows(const std::string& dir, const char* table = "blocks") {
  // Blocks are stored in runs: the blocks, not the rows, are counted.
  return test::query_int(
    dir + "/ledger.sqlite",
    std::string{table} == "blocks"
      ? std::string{"SELECT coalesce(sum(count), 0) FROM block_runs"}
      : std::string{"SELECT count(*) FROM "} + table);
}

std::vector<std::string> hashes(const dlt::chain& c) {
  std::vector<std::string> out;
  for (const auto& b : c)
    out.push_back(b.hash);
  return out;
}

/// Reopened, the ledger in `dir` holds exactly `chain`, byte for byte.
void check_holds(const std::string& dir, const dlt::chain& chain) {
  auto loaded = open_store(dir)->load();
  REQUIRE(loaded);
  CHECK(hashes(loaded->blocks) == hashes(chain));
  REQUIRE(loaded->blocks.size() == chain.size());
  for (std::size_t i = 0; i < chain.size(); ++i)
    if (loaded->blocks[i].json != chain[i].json)
      FAIL("block " << i + 1 << " differs");
}

} // namespace

TEST_CASE("the store gives back what it was given, across reopening") {
  temp_dir dir;
  auto chain = make_chain(5);
  {
    auto store = open_store(dir.path);
    auto fresh = store->load();
    REQUIRE(fresh);
    CHECK(fresh->blocks.empty());
    dlt::ledger_change c;
    c.blocks = shared(chain);
    c.own_added = {chain[3].hash};
    c.txs_added = {{5, dlt::transaction_json("e")}, {-1, dlt::transaction_json("a")},
                   {2, dlt::transaction_json("b")}};
    c.peers_added = {"localhost:2", "127.0.0.1:1", "localhost:2"};
    dlt::ledger_change drop;
    drop.txs_removed = {2};
    REQUIRE_FALSE(store->apply({c, drop}));
  }
  auto store = open_store(dir.path);
  auto loaded = store->load();
  REQUIRE(loaded);
  CHECK(hashes(loaded->blocks) == hashes(chain));
  CHECK(loaded->blocks.back().json == chain.back().json);
  CHECK(loaded->own == std::vector<std::string>{chain[3].hash});
  REQUIRE(loaded->pending.size() == 2); // in queue order, by number
  CHECK(loaded->pending[0].seq == -1);
  CHECK(loaded->pending[0].json == dlt::transaction_json("a"));
  CHECK(loaded->pending[1].seq == 5);
  CHECK(loaded->peers == std::vector<std::string>{"localhost:2", "127.0.0.1:1"});
}

TEST_CASE("a group of changes is stored whole or not at all") {
  temp_dir dir;
  auto chain = make_chain(3);
  auto store = open_store(dir.path);
  dlt::ledger_change first;
  first.blocks = shared(chain);
  REQUIRE_FALSE(store->apply({first}));
  dlt::ledger_change fine;
  fine.txs_added = {{1, dlt::transaction_json("kept?")}};
  dlt::ledger_change clash; // block 3 exists: the insert fails
  clash.blocks = shared(chain, 2);
  auto err = store->apply({fine, clash});
  REQUIRE(err);
  CHECK_THAT(*err, Catch::Contains("storing a block"));
  auto loaded = store->load();
  REQUIRE(loaded);
  CHECK(loaded->pending.empty());
  CHECK(loaded->blocks.size() == 3);
}

TEST_CASE("a long chain is stored whole, in runs of many rows, or not at all") {
  // More blocks than one multi-row INSERT takes (1,024), and a remainder.
  temp_dir dir;
  auto chain = make_chain(2 * 1024 + 300);
  auto store = open_store(dir.path);
  dlt::ledger_change first;
  first.blocks = shared(chain, 0);
  first.blocks.resize(1500); // one full run, then rows one by one
  REQUIRE_FALSE(store->apply({first}));
  dlt::ledger_change clash; // block 1500 exists: the run holding it fails
  clash.blocks = shared(chain, 1499);
  auto err = store->apply({clash});
  REQUIRE(err);
  CHECK_THAT(*err, Catch::Contains("storing a block"));
  dlt::ledger_change rest;
  rest.blocks = shared(chain, 1500);
  REQUIRE_FALSE(store->apply({rest}));
  store.reset();
  check_holds(dir.path, chain);
}

TEST_CASE("staged parts are invisible until applied, and dropped on failure or discard") {
  temp_dir dir;
  auto chain = make_chain(40);
  auto store = open_store(dir.path);
  REQUIRE(store->load());
  dlt::ledger_change first;
  first.blocks = shared(chain);
  first.blocks.resize(10);
  REQUIRE_FALSE(store->apply({first}));
  auto part = [&](std::size_t from, std::size_t to) {
    dlt::ledger_change c;
    c.blocks = shared(chain, from);
    c.blocks.resize(to - from);
    return c;
  };
  // Staged, then discarded: nothing of it is kept.
  REQUIRE_FALSE(store->stage(part(10, 20)));
  CHECK(committed_rows(dir.path) == 10);
  store->discard_staged();
  CHECK(committed_rows(dir.path) == 10);
  // A part that cannot be stored drops the parts staged before it too.
  REQUIRE_FALSE(store->stage(part(10, 20)));
  auto err = store->stage(part(15, 25)); // blocks 16-20 are staged already
  REQUIRE(err);
  CHECK_THAT(*err, Catch::Contains("storing a block"));
  dlt::ledger_change tx;
  tx.txs_added = {{1, dlt::transaction_json("after the failure")}};
  REQUIRE_FALSE(store->apply({tx}));
  CHECK(committed_rows(dir.path) == 10);
  // Staged in parts (the first removing blocks), committed by apply().
  dlt::ledger_change cut = part(5, 20);
  cut.truncate_from = 6;
  REQUIRE_FALSE(store->stage(cut));
  REQUIRE_FALSE(store->stage(part(20, 30)));
  CHECK(committed_rows(dir.path) == 10);
  REQUIRE_FALSE(store->apply({part(30, 40)}));
  CHECK(committed_rows(dir.path) == 40);
  store.reset();
  auto loaded = open_store(dir.path)->load();
  REQUIRE(loaded);
  CHECK(hashes(loaded->blocks) == hashes(chain));
  CHECK(loaded->pending.size() == 1);
}

TEST_CASE("blocks go to storage as runs of the chain's segments, from any block to any block") {
  temp_dir dir;
  auto chain = make_chain(3000); // 3000 blocks span several 64 KiB segments
  dlt::chain_store held;
  held.push(chain[0]);
  held.append(dlt::chain(chain.begin() + 1, chain.end()));
  REQUIRE(held.size() == chain.size());
  auto store = open_store(dir.path);
  REQUIRE(store->load());
  dlt::ledger_change first; // blocks 1-4 one by one
  first.blocks = shared(chain);
  first.blocks.resize(4);
  REQUIRE_FALSE(store->apply({first}));
  // From the middle of a segment to the middle of another, then the rest.
  dlt::ledger_change middle;
  middle.runs = held.runs_from(5, 1700);
  CHECK(middle.runs.size() > 1);
  CHECK(middle.block_count() == 1696);
  dlt::ledger_change rest;
  rest.runs = held.runs_from(1701);
  CHECK(rest.block_count() == 1300);
  REQUIRE_FALSE(store->apply({middle, rest}));
  CHECK(held.runs_from(3001).empty());
  store.reset();
  check_holds(dir.path, chain);
}

TEST_CASE("a replacement rewrites the blocks after the shared ones") {
  temp_dir dir;
  auto ours = make_chain(6);
  auto theirs = dlt::chain(ours.begin(), ours.begin() + 3);
  while (theirs.size() < 9)
    theirs.push_back(dlt::seal_block(theirs.size() + 1, theirs.back().hash, 99.0,
                                     {dlt::transaction_json("theirs")}));
  auto store = open_store(dir.path);
  dlt::ledger_change first;
  first.blocks = shared(ours);
  REQUIRE_FALSE(store->apply({first}));
  auto fork = dlt::common_prefix(ours, theirs);
  CHECK(fork == 3);
  dlt::ledger_change replace;
  replace.truncate_from = fork + 1;
  replace.blocks = shared(theirs, fork);
  REQUIRE_FALSE(store->apply({replace}));
  auto loaded = store->load();
  REQUIRE(loaded);
  CHECK(hashes(loaded->blocks) == hashes(theirs));
}

TEST_CASE("load refuses a chain whose links are broken") {
  temp_dir dir;
  auto chain = make_chain(4);
  chain[2] = dlt::seal_block(3, std::string(64, 'a'), 3.0, {});
  auto store = open_store(dir.path);
  dlt::ledger_change c;
  c.blocks = shared(chain);
  REQUIRE_FALSE(store->apply({c}));
  auto loaded = store->load();
  REQUIRE_FALSE(loaded);
  CHECK_THAT(loaded.error(),
             Catch::Contains("block 3: previous_hash is not the hash of block 2"));
}

TEST_CASE("one node per data directory") {
  temp_dir dir;
  auto store = open_store(dir.path);
  auto second = dlt::ledger_store::open(dir.path);
  REQUIRE_FALSE(second);
  CHECK_THAT(second.error(), Catch::Contains("another dlt-node"));
}

TEST_CASE("the storage actor groups commits and stops storing after a failure") {
  temp_dir dir;
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  std::shared_ptr<dlt::ledger_store> store = open_store(dir.path);
  std::atomic<int> failures{0};
  auto storage = dlt::spawn_storage(sys, store, [&](const std::string&) {
    ++failures;
  });
  // Many commits at once (plain sends: the answers come back as ordinary
  // messages): later ones share a sync.
  constexpr int n = 200;
  for (int i = 1; i <= n; ++i) {
    dlt::ledger_change c;
    c.txs_added = {{i, dlt::transaction_json(i)}};
    self->send(storage, dlt::commit_atom::value, std::move(c));
  }
  std::uint64_t largest_group = 0;
  int answered = 0;
  self->receive_for(answered, n)(
    [&](std::uint64_t group) { largest_group = std::max(largest_group, group); },
    [&](caf::error& err) { FAIL(sys.render(err)); },
    caf::after(10s) >> [&] { FAIL("the storage actor did not answer"); });
  CHECK(largest_group > 1);
  // A commit that cannot be stored (the same row twice) fails, and so does
  // everything after it: memory and disk no longer agree.
  dlt::ledger_change dup;
  dup.txs_added = {{1, dlt::transaction_json(1)}};
  bool refused = false;
  self->request(storage, 10s, dlt::commit_atom::value, dup)
    .receive([](std::uint64_t) {}, [&](caf::error&) { refused = true; });
  CHECK(refused);
  CHECK(failures == 1); // called before the refusal is answered
  dlt::ledger_change fine;
  fine.txs_added = {{n + 1, dlt::transaction_json(0)}};
  refused = false;
  self->request(storage, 10s, dlt::commit_atom::value, fine)
    .receive([](std::uint64_t) {}, [&](caf::error&) { refused = true; });
  CHECK(refused);
  caf::anon_send_exit(storage, caf::exit_reason::user_shutdown);
}

TEST_CASE("the storage actor copies a long log into the database without waiting for the next change") {
  // After an adopted chain, the next change (the first block caught up)
  // waited ~20 ms for this copy inside its own commit.
  temp_dir dir;
  std::shared_ptr<dlt::ledger_store> store = open_store(dir.path);
  REQUIRE(store->load());
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  auto storage = dlt::spawn_storage(sys, store, [](const std::string&) {});
  auto db = dir.path + "/" + dlt::ledger_store::file_name;
  auto before = std::filesystem::file_size(db);
  dlt::ledger_change big; // ~6 MB: past the log's checkpoint threshold
  for (int i = 1; i <= 400; ++i)
    big.txs_added.push_back({i, dlt::transaction_json(std::string(16000, 'x'))});
  CHECK(ask<std::uint64_t>(self, storage, dlt::commit_atom::value, big) == 1);
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::filesystem::file_size(db) < before + 6'000'000
         && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  CHECK(std::filesystem::file_size(db) >= before + 6'000'000);
  CHECK(committed_rows(dir.path, "pending") == 400);
  caf::anon_send_exit(storage, caf::exit_reason::user_shutdown);
}

TEST_CASE("the storage actor commits staged parts with their sender's commit; others wait for it") {
  temp_dir dir;
  auto chain = make_chain(30);
  std::shared_ptr<dlt::ledger_store> store = open_store(dir.path);
  REQUIRE(store->load());
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor stager{sys};
  caf::scoped_actor other{sys};
  auto storage = dlt::spawn_storage(sys, store, [](const std::string&) {});
  auto part = [&](std::size_t from, std::size_t to) {
    dlt::ledger_change c;
    c.blocks = shared(chain, from);
    c.blocks.resize(to - from);
    return c;
  };
  stager->send(storage, dlt::stage_atom::value, part(0, 10));
  stager->send(storage, dlt::stage_atom::value, part(10, 20));
  // Another actor's change waits for the stager's commit: committed on its
  // own it would have stored half a chain with it.
  dlt::ledger_change tx;
  tx.txs_added = {{1, dlt::transaction_json("waits")}};
  bool answered_early = false;
  other->request(storage, 300ms, dlt::commit_atom::value, tx)
    .receive([&](std::uint64_t) { answered_early = true; },
             [](caf::error&) {});
  CHECK_FALSE(answered_early);
  CHECK(committed_rows(dir.path) == 0);
  auto shared_sync = ask<std::uint64_t>(stager, storage, dlt::commit_atom::value,
                                        part(20, 30));
  CHECK(shared_sync == 2); // the other change and the stager's last part
  CHECK(committed_rows(dir.path) == 30);
  CHECK(committed_rows(dir.path, "pending") == 1);
  // Once the stager has committed, others commit on their own again.
  dlt::ledger_change more;
  more.txs_added = {{2, dlt::transaction_json("later")}};
  CHECK(ask<std::uint64_t>(other, storage, dlt::commit_atom::value, more) == 1);
  CHECK(committed_rows(dir.path, "pending") == 2);
  caf::anon_send_exit(storage, caf::exit_reason::user_shutdown);
}

TEST_CASE("the ledger actors store every answered change and start from it") {
  temp_dir dir;
  auto tx = [](const char* d) { return dlt::transaction_json(d); };
  // A peer chain of 6 blocks from another genesis, for a requeueing reorg.
  auto theirs = make_chain(6);
  std::string body = "{\"chain\": " + dlt::chain_json_array(theirs) + "}";
  auto fetch = [&](const dlt::peer_address&, std::chrono::milliseconds,
                   std::uint64_t min_length,
                   std::function<void(dlt::fetch_result)> done) {
    done(test::fetched(body, min_length));
  };
  dlt::chain before;
  {
    caf::actor_system_config cfg;
    caf::actor_system sys{cfg};
    caf::scoped_actor self{sys};
    std::shared_ptr<dlt::ledger_store> store = open_store(dir.path);
    auto loaded = store->load();
    REQUIRE(loaded);
    auto storage = dlt::spawn_storage(sys, store, nullptr);
    auto a = dlt::spawn_node_actors(sys, fetch, test::with_gossip({300ms, true}), std::move(*loaded),
                                    storage);
    ask<std::uint64_t>(self, a.mempool, dlt::add_atom::value,
                       tx("mined-then-orphaned"));
    ask<dlt::mine_outcome>(self, a.miner, dlt::mine_atom::value, test::soon());
    ask<std::uint64_t>(self, a.mempool, dlt::add_atom::value, tx("pending"));
    ask<dlt::register_outcome>(self, a.peers, dlt::register_atom::value,
                               std::vector<std::string>{"peer:1"});
    // Adopts theirs and requeues ours.
    ask<dlt::consensus_outcome>(self, a.consensus, dlt::consensus_atom::value);
    auto view = ask<dlt::chain_view>(self, a.chain, dlt::snapshot_atom::value);
    auto parsed = dlt::chain_from_json(nlohmann::json::parse(view.blocks->str()));
    REQUIRE(parsed);
    before = *parsed;
    dlt::stop_node_actors(a);
  }
  CHECK(hashes(before) == hashes(theirs));
  auto store = open_store(dir.path);
  auto loaded = store->load();
  REQUIRE(loaded);
  CHECK(hashes(loaded->blocks) == hashes(theirs));
  REQUIRE(loaded->pending.size() == 2);
  // The orphaned transaction went back in front of the pending one.
  CHECK(loaded->pending[0].json == tx("mined-then-orphaned"));
  CHECK(loaded->pending[1].json == tx("pending"));
  CHECK(loaded->peers == std::vector<std::string>{"peer:1"});
  CHECK(loaded->own.size() == 1); // kept: the block may come back
}

TEST_CASE("a batch taken before a reorg's reconciliation is not appended") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  auto theirs = make_chain(4);
  std::string body = "{\"chain\": " + dlt::chain_json_array(theirs) + "}";
  auto a = dlt::spawn_node_actors(
    sys,
    [&](const dlt::peer_address&, std::chrono::milliseconds,
        std::uint64_t min_length, std::function<void(dlt::fetch_result)> done) {
      done(test::fetched(body, min_length));
    },
    test::with_gossip({300ms, true}));
  // Block 2 carries "x"; the adopted chain does not, so the reorg orphans
  // "x" and reconciles the mempool (a new epoch).
  ask<std::uint64_t>(self, a.mempool, dlt::add_atom::value, dlt::transaction_json("x"));
  ask<dlt::mine_outcome>(self, a.miner, dlt::mine_atom::value, test::soon());
  ask<std::uint64_t>(self, a.mempool, dlt::add_atom::value, dlt::transaction_json("y"));
  auto stale = ask<dlt::tx_batch>(self, a.mempool, dlt::take_atom::value);
  ask<dlt::register_outcome>(self, a.peers, dlt::register_atom::value,
                             std::vector<std::string>{"peer:1"});
  CHECK(ask<dlt::consensus_outcome>(self, a.consensus, dlt::consensus_atom::value)
          .replaced);
  auto tip = ask<dlt::chain_tip>(self, a.chain, dlt::tip_atom::value);
  auto b = std::make_shared<const dlt::block>(
    dlt::seal_block(tip.height + 1, tip.hash, 9.0, stale.txs));
  CHECK_FALSE(ask<bool>(self, a.chain, dlt::append_atom::value, b, stale.origin));
  self->send(a.mempool, dlt::restore_atom::value);
  auto fresh = ask<dlt::tx_batch>(self, a.mempool, dlt::take_atom::value);
  CHECK(fresh.origin.epoch > stale.origin.epoch);
  // "x" requeued in front of "y" (given back in its place).
  CHECK(fresh.txs == dlt::tx_list{dlt::transaction_json("x"),
                                  dlt::transaction_json("y")});
  CHECK(ask<bool>(self, a.chain, dlt::append_atom::value,
                  std::make_shared<const dlt::block>(
                    dlt::seal_block(tip.height + 1, tip.hash, 9.0, fresh.txs)),
                  fresh.origin));
  dlt::stop_node_actors(a);
}

TEST_CASE("a file damaged where start-up does not read is never changed") {
  // The free-page count in the header is wrong: every row reads back, so
  // the node starts and serves them, but SQLite's structural check (run
  // before the first change) finds it, and nothing is written.
  temp_dir dir;
  auto chain = make_chain(400);
  auto path = dir.path + "/" + dlt::ledger_store::file_name;
  {
    auto store = open_store(dir.path);
    dlt::ledger_change c;
    c.blocks = shared(chain);
    REQUIRE_FALSE(store->apply({c}));
    dlt::ledger_change cut;
    cut.truncate_from = 2; // frees the pages of blocks 2..400
    REQUIRE_FALSE(store->apply({cut}));
  } // closing copies the log into the file
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    REQUIRE(f);
    unsigned char count[4];
    f.seekg(36); // the total number of free pages, big-endian
    f.read(reinterpret_cast<char*>(count), 4);
    REQUIRE(count[3] > 0);
    count[3] = static_cast<unsigned char>(count[3] + 3);
    f.seekp(36);
    f.write(reinterpret_cast<const char*>(count), 4);
  }
  auto store = open_store(dir.path);
  auto loaded = store->load();
  REQUIRE(loaded);
  CHECK(loaded->blocks.size() == 1);
  dlt::ledger_change tx;
  tx.txs_added.push_back({1, "{\"data\": 1}"});
  auto err = store->apply({tx});
  REQUIRE(err);
  CHECK_THAT(*err, Catch::Contains("is damaged"));
  CHECK(store->apply({tx})); // and stays refused
}
