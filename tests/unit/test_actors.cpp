// Actor behaviour with a real actor system and a fake chain fetcher (the
// HTTP side is covered by the end-to-end tests).

#include <catch2/catch.hpp>

#include <map>
#include <mutex>
#include <set>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/spawn.hpp"
#include "ask.hpp"
#include "model/json_blocks.hpp"
#include "model/json_parse.hpp"

using namespace std::chrono_literals;

namespace {

/// What a fake peer does when asked for its chain.
struct fake_peer {
  enum { answer, fail, hang } mode = answer;
  std::string body;
};

struct node_fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  std::map<std::string, fake_peer> peers;
  std::mutex hung_mutex;
  std::vector<std::function<void(dlt::fetch_result)>> hung;
  dlt::node_actors actors;

  explicit node_fixture(std::chrono::milliseconds peer_timeout = 300ms,
                        bool requeue_orphans = false) {
    auto fetch = [this](const dlt::peer_address& p, std::chrono::milliseconds,
                        std::uint64_t min_length,
                        std::function<void(dlt::fetch_result)> done) {
      auto& peer = peers.at(p.text);
      if (peer.mode == fake_peer::answer)
        done(test::fetched(peer.body, min_length));
      else if (peer.mode == fake_peer::fail)
        done(test::failed_fetch("unreachable", "connection refused"));
      else {
        std::lock_guard<std::mutex> guard{hung_mutex};
        hung.push_back(std::move(done)); // never answered
      }
    };
    actors = dlt::spawn_node_actors(
      sys, fetch, test::with_gossip({peer_timeout, requeue_orphans}));
  }

  ~node_fixture() {
    dlt::stop_node_actors(actors);
  }

  template <class T, class Handle, class... Ts>
  T ask(const Handle& h, Ts&&... xs) {
    T out{};
    self->request(h, 10s, std::forward<Ts>(xs)...)
      .receive([&](T& x) { out = std::move(x); },
               [&](caf::error& err) { FAIL(sys.render(err)); });
    return out;
  }

  dlt::chain current_chain() {
    auto view = ask<dlt::chain_view>(actors.chain, dlt::snapshot_atom::value);
    auto parsed = dlt::chain_from_json(nlohmann::json::parse(view.blocks->str()));
    REQUIRE(parsed);
    return *parsed;
  }

  void add_tx(const std::string& data) {
    ask<std::uint64_t>(actors.mempool, dlt::add_atom::value,
                       dlt::transaction_json(data));
  }

  void register_peer(const std::string& addr) {
    ask<dlt::register_outcome>(actors.peers, dlt::register_atom::value,
                               std::vector<std::string>{addr});
  }
};

dlt::node_status hub_status(caf::scoped_actor& self, const dlt::event_hub_actor& hub) {
  dlt::node_status out;
  self->request(hub, 10s, dlt::status_atom::value)
    .receive([&](dlt::node_status& s) { out = std::move(s); },
             [&](caf::error& err) { FAIL(self->system().render(err)); });
  return out;
}

std::string chain_body(std::size_t n, double t0) {
  dlt::chain c{dlt::make_genesis(t0)};
  for (std::size_t i = 2; i <= n; ++i)
    c.push_back(dlt::seal_block(i, c.back().hash, t0 + i,
                                {dlt::transaction_json("peer block")}));
  return "{\"chain\": " + dlt::chain_json_array(c) + ", \"is_valid\": true}";
}

} // namespace

TEST_CASE("mining puts every pending transaction into one block, in order") {
  node_fixture f;
  auto nothing = f.ask<dlt::mine_outcome>(f.actors.miner, dlt::mine_atom::value, test::soon());
  CHECK(nothing.new_block == nullptr);
  CHECK(nothing.valid);
  f.add_tx("a");
  f.add_tx("b");
  auto out = f.ask<dlt::mine_outcome>(f.actors.miner, dlt::mine_atom::value, test::soon());
  REQUIRE(out.new_block);
  CHECK(out.new_block->index == 2);
  CHECK_THAT(out.new_block->json,
             Catch::Contains(R"("transactions": [{"data": "a"}, {"data": "b"}])"));
  auto c = f.current_chain();
  REQUIRE(c.size() == 2);
  CHECK(c[1].previous_hash == c[0].hash);
  CHECK(f.ask<std::uint64_t>(f.actors.mempool, dlt::size_atom::value) == 0);
}

TEST_CASE("concurrent mines take each transaction exactly once") {
  node_fixture f;
  std::set<std::string> sent;
  for (int i = 0; i < 200; ++i) {
    auto data = "tx-" + std::to_string(i);
    sent.insert(data);
    caf::anon_send(f.actors.mempool, dlt::add_atom::value,
                   dlt::transaction_json(data));
    if (i % 7 == 0)
      f.self->send(f.actors.miner, dlt::mine_atom::value, test::soon());
  }
  f.ask<dlt::mine_outcome>(f.actors.miner, dlt::mine_atom::value, test::soon());
  std::multiset<std::string> mined;
  for (const auto& b : f.current_chain()) {
    if (b.index == 1)
      continue;
    auto j = nlohmann::json::parse(b.json);
    for (const auto& tx : j["transactions"])
      mined.insert(tx["data"].get<std::string>());
  }
  CHECK(mined.size() == sent.size());
  CHECK(std::set<std::string>(mined.begin(), mined.end()) == sent);
}

TEST_CASE("evil pops the last block but never the genesis block") {
  node_fixture f;
  f.add_tx("x");
  auto mined = f.ask<dlt::mine_outcome>(f.actors.miner, dlt::mine_atom::value, test::soon());
  auto popped = f.ask<dlt::block_ptr>(f.actors.chain, dlt::pop_atom::value);
  REQUIRE(popped);
  CHECK(popped->hash == mined.new_block->hash);
  CHECK(f.ask<dlt::block_ptr>(f.actors.chain, dlt::pop_atom::value) == nullptr);
  CHECK(f.current_chain().size() == 1);
}

TEST_CASE("the chain actor refuses appends that do not extend its tip") {
  node_fixture f;
  auto tip = f.ask<dlt::chain_tip>(f.actors.chain, dlt::tip_atom::value);
  auto stale = std::make_shared<const dlt::block>(
    dlt::seal_block(2, "not-the-tip", 1.0, {dlt::transaction_json(1)}));
  dlt::batch_origin origin;
  CHECK_FALSE(f.ask<bool>(f.actors.chain, dlt::append_atom::value, stale, origin));
  auto good = std::make_shared<const dlt::block>(
    dlt::seal_block(2, tip.hash, 1.0, {dlt::transaction_json(1)}));
  CHECK(f.ask<bool>(f.actors.chain, dlt::append_atom::value, good, origin));
  CHECK_FALSE(f.ask<bool>(f.actors.chain, dlt::append_atom::value, good, origin));
}

TEST_CASE("consensus adopts the longest valid chain and skips bad peers") {
  node_fixture f;
  f.peers["good:1"] = {fake_peer::answer, chain_body(4, 100.0)};
  f.peers["longer-but-invalid:1"] = {fake_peer::answer, chain_body(9, 200.0)};
  // Break one link in the longer chain.
  auto& bad = f.peers["longer-but-invalid:1"].body;
  bad.replace(bad.find("peer block"), 10, "forged blk");
  f.peers["garbage:1"] = {fake_peer::answer, "<html>not json</html>"};
  f.peers["dead:1"] = {fake_peer::fail, ""};
  f.peers["no-chain:1"] = {fake_peer::answer, R"({"chain": 5})"};
  for (const auto& [addr, _] : f.peers)
    f.register_peer(addr);
  auto out = f.ask<dlt::consensus_outcome>(f.actors.consensus,
                                           dlt::consensus_atom::value);
  CHECK(out.replaced);
  CHECK(out.view.height == 4);
  auto c = f.current_chain();
  REQUIRE(c.size() == 4);
  CHECK_THAT(c[0].json, Catch::Contains("100.0"));
}

TEST_CASE("consensus keeps our chain when no peer's chain is strictly longer") {
  node_fixture f;
  f.add_tx("ours");
  f.ask<dlt::mine_outcome>(f.actors.miner, dlt::mine_atom::value, test::soon());
  f.peers["same-length:1"] = {fake_peer::answer, chain_body(2, 5.0)};
  f.register_peer("same-length:1");
  auto out = f.ask<dlt::consensus_outcome>(f.actors.consensus,
                                           dlt::consensus_atom::value);
  CHECK_FALSE(out.replaced);
  CHECK_THAT(out.view.blocks->str(), Catch::Contains("ours"));
}

TEST_CASE("a peer that never answers costs a round no more than the deadline") {
  node_fixture f{200ms};
  f.peers["hung:1"] = {fake_peer::hang, ""};
  f.peers["good:1"] = {fake_peer::answer, chain_body(3, 1.0)};
  f.register_peer("hung:1");
  f.register_peer("good:1");
  auto start = std::chrono::steady_clock::now();
  auto out = f.ask<dlt::consensus_outcome>(f.actors.consensus,
                                           dlt::consensus_atom::value);
  auto took = std::chrono::steady_clock::now() - start;
  CHECK(out.replaced);
  CHECK(out.view.height == 3);
  // Generous bound: the round must end on the deadline, not wait forever.
  CHECK(took < 5s);
  // The late answer of the hung peer is ignored.
  std::lock_guard<std::mutex> guard{f.hung_mutex};
  for (auto& done : f.hung)
    done(test::fetched(chain_body(50, 9.0)));
  CHECK(f.ask<std::uint64_t>(f.actors.chain, dlt::height_atom::value) == 3);
}

TEST_CASE("orphaned transactions are dropped by default, requeued on request") {
  for (bool requeue : {false, true}) {
    node_fixture f{300ms, requeue};
    f.add_tx("mine-1");
    f.add_tx("mine-2");
    f.ask<dlt::mine_outcome>(f.actors.miner, dlt::mine_atom::value, test::soon());
    f.peers["longer:1"] = {fake_peer::answer, chain_body(5, 42.0)};
    f.register_peer("longer:1");
    auto out = f.ask<dlt::consensus_outcome>(f.actors.consensus,
                                             dlt::consensus_atom::value);
    REQUIRE(out.replaced);
    // The chain actor had the mempool reconciled before it answered, so
    // our take sees the requeued transactions.
    auto pending =
      f.ask<dlt::tx_batch>(f.actors.mempool, dlt::take_atom::value).txs;
    if (requeue)
      CHECK(pending == dlt::tx_list{dlt::transaction_json("mine-1"),
                                    dlt::transaction_json("mine-2")});
    else
      CHECK(pending.empty());
  }
}

TEST_CASE("the published chain list stays byte-equal to the chain across segments") {
  node_fixture f;
  auto expect_consistent = [&] {
    auto view = f.ask<dlt::chain_view>(f.actors.chain, dlt::snapshot_atom::value);
    auto listed = view.blocks->str();
    auto parsed = dlt::chain_from_json(nlohmann::json::parse(listed));
    REQUIRE(parsed);
    CHECK(dlt::chain_json_array(*parsed) == listed);
    CHECK(view.blocks->size() == listed.size());
    CHECK(parsed->size() == view.height);
  };
  // ~1 KB blocks: 64 KB segments fill after ~60 blocks.
  std::string big(1000, 'x');
  for (int i = 0; i < 150; ++i) {
    f.add_tx(big + std::to_string(i));
    f.ask<dlt::mine_outcome>(f.actors.miner, dlt::mine_atom::value, test::soon());
  }
  expect_consistent();
  for (int i = 0; i < 70; ++i) // pops across a segment boundary
    f.ask<dlt::block_ptr>(f.actors.chain, dlt::pop_atom::value);
  expect_consistent();
  f.peers["long:1"] = {fake_peer::answer, chain_body(300, 7.0)};
  f.register_peer("long:1");
  f.ask<dlt::consensus_outcome>(f.actors.consensus, dlt::consensus_atom::value);
  expect_consistent();
  f.add_tx("after");
  f.ask<dlt::mine_outcome>(f.actors.miner, dlt::mine_atom::value, test::soon());
  expect_consistent();
}

TEST_CASE("a reorg drops included transactions also from the miner's batch") {
  node_fixture f;
  auto tx = [](const char* d) { return dlt::transaction_json(d); };
  for (bool reorg_first : {true, false}) {
    f.add_tx("t1");
    f.add_tx("t2");
    auto batch = f.ask<dlt::tx_batch>(f.actors.mempool, dlt::take_atom::value);
    REQUIRE(batch.txs == dlt::tx_list{tx("t1"), tx("t2")});
    // While the batch is in flight, an adopted chain turns out to carry t1.
    auto reconcile = [&] {
      f.self->send(f.actors.mempool, dlt::reconcile_atom::value, dlt::tx_list{},
                   dlt::tx_list{tx("t1")});
    };
    auto give_back = [&] { f.self->send(f.actors.mempool, dlt::restore_atom::value); };
    if (reorg_first) {
      reconcile();
      give_back();
    } else {
      give_back();
      reconcile();
    }
    auto pending = f.ask<dlt::tx_batch>(f.actors.mempool, dlt::take_atom::value);
    CHECK(pending.txs == dlt::tx_list{tx("t2")});
    f.self->send(f.actors.mempool, dlt::confirm_atom::value, pending.origin.seqs);
  }
}

TEST_CASE("the hub keeps the mempool's newest count, whatever order counts arrive in") {
  // A reorg's count comes through the chain actor after its commit, so it
  // can arrive after a later count straight from the mempool; a stale one
  // left GET /status saying "pending" with nothing to mine.
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  auto hub = dlt::spawn_event_hub(sys, std::make_shared<dlt::published_chain>());
  auto told = [&](std::uint64_t pending, std::uint64_t version) {
    dlt::mempool_changed m;
    m.pending = pending;
    m.version = version;
    self->send(hub, dlt::node_event{m});
    return hub_status(self, hub).pending;
  };
  CHECK(told(3, 1) == 3);
  CHECK(told(0, 3) == 0);
  CHECK(told(2, 2) == 0); // older than the count told already
  CHECK(told(5, 4) == 5);
  self->send_exit(hub, caf::exit_reason::user_shutdown);
}

TEST_CASE("a late confirmation forgets its own batch, not the next one") {
  node_fixture f;
  auto tx = [](const char* d) { return dlt::transaction_json(d); };
  f.add_tx("first");
  auto first = f.ask<dlt::tx_batch>(f.actors.mempool, dlt::take_atom::value);
  // The miner's append timed out: it forgets the batch; the chain actor,
  // taking the block later, confirms the same numbers once more.
  f.self->send(f.actors.mempool, dlt::confirm_atom::value, first.origin.seqs);
  f.self->send(f.actors.mempool, dlt::stored_atom::value);
  f.add_tx("second");
  auto second = f.ask<dlt::tx_batch>(f.actors.mempool, dlt::take_atom::value);
  REQUIRE(second.txs == dlt::tx_list{tx("second")});
  f.self->send(f.actors.mempool, dlt::confirm_atom::value, first.origin.seqs);
  CHECK(f.ask<std::uint64_t>(f.actors.mempool, dlt::size_atom::value) == 1);
  f.self->send(f.actors.mempool, dlt::restore_atom::value);
  CHECK(f.ask<dlt::tx_batch>(f.actors.mempool, dlt::take_atom::value).txs
        == dlt::tx_list{tx("second")});
}

TEST_CASE("a transaction in a block being stored is still listed as pending") {
  // Between the chain taking a block and the miner hearing it is stored,
  // GET /chain does not show the block yet: the transaction must not
  // vanish from GET /transactions/pending meanwhile.
  node_fixture f;
  auto genesis = f.current_chain().front();
  f.add_tx("between");
  auto batch = f.ask<dlt::tx_batch>(f.actors.mempool, dlt::take_atom::value);
  auto b = std::make_shared<const dlt::block>(
    dlt::seal_block(2, genesis.hash, 10.0, batch.txs));
  REQUIRE(f.ask<bool>(f.actors.chain, dlt::append_atom::value, b, batch.origin));
  auto listed = f.ask<dlt::pending_list>(f.actors.mempool, dlt::pending_atom::value,
                                         std::uint64_t{10});
  CHECK(listed.pending == 1);
  CHECK(listed.first == dlt::tx_list{dlt::transaction_json("between")});
  // ... but it is not handed to the miner again.
  CHECK(f.ask<dlt::tx_batch>(f.actors.mempool, dlt::take_atom::value).txs.empty());
  f.self->send(f.actors.mempool, dlt::stored_atom::value);
  CHECK(f.ask<std::uint64_t>(f.actors.mempool, dlt::size_atom::value) == 0);
}

TEST_CASE("a mined block orphaned and adopted again leaves its transactions mined once") {
  // The miner hears that its block was stored only after the commit; two
  // reorgs in that window (one orphaning the block, one adopting a chain
  // that carries it again) must leave its transaction in the chain only,
  // not pending as well (dlt-load saw it mined twice).
  node_fixture f{300ms, true};
  auto genesis = f.current_chain().front();
  f.add_tx("ours");
  auto batch = f.ask<dlt::tx_batch>(f.actors.mempool, dlt::take_atom::value);
  REQUIRE(batch.txs.size() == 1);
  auto ours = std::make_shared<const dlt::block>(
    dlt::seal_block(2, genesis.hash, 10.0, batch.txs));
  REQUIRE(f.ask<bool>(f.actors.chain, dlt::append_atom::value, ours, batch.origin));
  // No confirmation from us, the miner, yet.
  f.peers["fork:1"] = {fake_peer::answer, chain_body(3, 50.0)};
  f.register_peer("fork:1");
  REQUIRE(f.ask<dlt::consensus_outcome>(f.actors.consensus,
                                        dlt::consensus_atom::value).replaced);
  CHECK(f.ask<std::uint64_t>(f.actors.mempool, dlt::size_atom::value) == 1);
  dlt::chain back{genesis, *ours};
  for (std::size_t i = 3; i <= 4; ++i)
    back.push_back(dlt::seal_block(i, back.back().hash, 10.0 + i,
                                   {dlt::transaction_json("theirs")}));
  f.peers["fork:1"].mode = fake_peer::fail;
  f.peers["back:1"] = {fake_peer::answer, "{\"chain\": " + dlt::chain_json_array(back)
                                            + ", \"is_valid\": true}"};
  f.register_peer("back:1");
  auto out = f.ask<dlt::consensus_outcome>(f.actors.consensus, dlt::consensus_atom::value);
  REQUIRE(out.replaced);
  REQUIRE(out.view.tip_hash == back.back().hash);
  CHECK(f.ask<std::uint64_t>(f.actors.mempool, dlt::size_atom::value) == 0);
  CHECK(f.ask<dlt::tx_batch>(f.actors.mempool, dlt::take_atom::value).txs.empty());
}

TEST_CASE("the registry normalizes, deduplicates and reports refusals") {
  node_fixture f;
  auto out = f.ask<dlt::register_outcome>(
    f.actors.peers, dlt::register_atom::value,
    std::vector<std::string>{"http://localhost:8082", "localhost:8082", "",
                             "127.0.0.1:9000/", "https://x:1"});
  CHECK(out.total == std::vector<std::string>{"localhost:8082", "127.0.0.1:9000"});
  CHECK(out.invalid == std::vector<std::string>{"", "https://x:1"});
}

TEST_CASE("the chain answers a block locator with what follows the last shared block") {
  node_fixture f;
  for (int i = 0; i < 40; ++i) {
    f.add_tx("t" + std::to_string(i));
    f.ask<dlt::mine_outcome>(f.actors.miner, dlt::mine_atom::value, test::soon());
  }
  auto ours = f.current_chain(); // 41 blocks
  auto loc = f.ask<dlt::block_locator>(f.actors.chain, dlt::locator_atom::value);
  REQUIRE(loc.indexes.size() == loc.hashes.size());
  CHECK(loc.indexes.front() == 41);
  CHECK(loc.indexes.back() == 1);
  CHECK(loc.indexes.size() < 20); // ten one by one, then doubling
  for (std::size_t i = 0; i < loc.indexes.size(); ++i)
    CHECK(loc.hashes[i] == ours[loc.indexes[i] - 1].hash);
  // A peer that holds our first 30 blocks and then its own.
  std::vector<std::uint64_t> idx{35, 30, 20, 1};
  std::vector<std::string> hashes{std::string(64, 'f'), ours[29].hash,
                                  ours[19].hash, ours[0].hash};
  std::uint64_t shared = 0;
  std::vector<std::string> after;
  f.self->request(f.actors.native, 10s, dlt::blocks_atom::value, idx, hashes,
                  std::uint64_t{5})
    .receive(
      [&](std::uint64_t s, std::vector<std::string>& b) {
        shared = s;
        after = std::move(b);
      },
      [&](caf::error& err) { FAIL(f.sys.render(err)); });
  CHECK(shared == 30);
  // Runs of blocks joined as the chain holds them, the last block alone:
  // blocks 31 to 35, at most what was asked for.
  dlt::chain got;
  for (const auto& text : after) {
    auto blocks = dlt::blocks_from_list_body(text);
    REQUIRE(blocks);
    got.insert(got.end(), blocks->begin(), blocks->end());
  }
  REQUIRE(got.size() == 5);
  for (std::size_t i = 0; i < got.size(); ++i) {
    CHECK(got[i].json == ours[30 + i].json);
    CHECK(got[i].hash == ours[30 + i].hash);
  }
  REQUIRE(after.size() >= 2);
  CHECK(after.back() == ours[34].json);
  // A peer's tail that does not link onto our block 30 is not adopted.
  auto wrong = std::make_shared<dlt::chain>(dlt::chain(ours.begin() + 31, ours.end()));
  wrong->push_back(dlt::seal_block(42, wrong->back().hash, 1.0, {}));
  auto out = f.ask<dlt::consensus_outcome>(f.actors.chain, dlt::replace_atom::value,
                                           std::uint64_t{29}, wrong, false,
                                           std::string{"test"});
  CHECK_FALSE(out.replaced);
  // One that does is, and only the new block is added.
  auto right = std::make_shared<dlt::chain>(dlt::chain(ours.begin() + 30, ours.end()));
  right->push_back(dlt::seal_block(42, right->back().hash, 1.0, {}));
  out = f.ask<dlt::consensus_outcome>(f.actors.chain, dlt::replace_atom::value,
                                      std::uint64_t{30}, right, false,
                                      std::string{"test"});
  CHECK(out.replaced);
  CHECK(out.view.height == 42);
  auto now = f.current_chain();
  CHECK(dlt::common_prefix(now, ours) == 41);
}

TEST_CASE("a chain view names its tip and gives its bytes across segments") {
  node_fixture f;
  std::string big(1000, 'x'); // ~60 blocks per 64 KB segment
  for (int i = 0; i < 70; ++i) {
    f.add_tx(big + std::to_string(i));
    f.ask<dlt::mine_outcome>(f.actors.miner, dlt::mine_atom::value, test::soon());
    auto view = f.ask<dlt::chain_view>(f.actors.chain, dlt::snapshot_atom::value);
    auto chain = f.current_chain();
    CHECK(view.tip_hash == chain.back().hash);
    CHECK(view.tip_json() == chain.back().json);
  }
}

namespace {

/// Blocks from..to-1 of `c` as the native verifier leaves them: segments of
/// `per` blocks each, the first linking to `anchor`.
dlt::segment_tail_ptr segments_of(const dlt::chain& c, std::size_t from,
                                  std::size_t to, std::string anchor,
                                  std::size_t per = 7) {
  auto tail = std::make_shared<dlt::segment_tail>();
  tail->anchor = std::move(anchor);
  std::shared_ptr<dlt::json_segment> seg;
  for (auto i = from; i < to; ++i) {
    if (!seg || seg->count() == per) {
      if (seg)
        tail->segments.push_back(seg);
      seg = std::make_shared<dlt::json_segment>();
      seg->first = c[i].index;
    }
    seg->add(c[i].json, *dlt::digest_from_hex(c[i].hash));
  }
  if (seg)
    tail->segments.push_back(seg);
  return tail;
}

} // namespace

TEST_CASE("the chain adopts a native peer's segments without copying a block") {
  // From the fork point, or from before it (the blocks we hold skipped);
  // with the orphans' transactions requeued or not.
  auto run = [](bool requeue_orphans, bool from_fork) {
    INFO("requeue_orphans " << requeue_orphans << ", from_fork " << from_fork);
    node_fixture f{300ms, requeue_orphans};
    for (int i = 0; i < 40; ++i) {
      f.add_tx("t" + std::to_string(i));
      f.ask<dlt::mine_outcome>(f.actors.miner, dlt::mine_atom::value, test::soon());
    }
    auto ours = f.current_chain(); // 41 blocks
    // A peer that holds our first 30 blocks, then 20 of its own.
    auto theirs = dlt::chain(ours.begin(), ours.begin() + 30);
    while (theirs.size() < 50)
      theirs.push_back(dlt::seal_block(theirs.size() + 1, theirs.back().hash, 2.0,
                                       {dlt::transaction_json("theirs")}));
    auto replace = [&](std::uint64_t shared, dlt::segment_tail_ptr tail) {
      return f.ask<dlt::consensus_outcome>(f.actors.chain, dlt::replace_atom::value,
                                           shared, std::move(tail), requeue_orphans,
                                           std::string{"test"});
    };
    // Not onto our block 30: refused, nothing changes.
    auto out = replace(30, segments_of(theirs, 30, 50, std::string(64, 'f')));
    CHECK_FALSE(out.replaced);
    CHECK(f.current_chain().size() == 41);
    // Not longer than ours: refused.
    out = replace(30, segments_of(theirs, 30, 40, ours[29].hash));
    CHECK_FALSE(out.replaced);
    if (from_fork) { // the segments become the chain's own
      auto tail = segments_of(theirs, 30, 50, ours[29].hash);
      auto given = tail->segments;
      out = replace(30, tail);
      REQUIRE(out.replaced);
      CHECK(out.view.height == 50);
      // The same objects, unless the orphans needed them as blocks.
      const auto& held = out.view.blocks->segments;
      if (!requeue_orphans) {
        REQUIRE(held.size() >= given.size());
        for (std::size_t i = 0; i < given.size(); ++i)
          CHECK(held[held.size() - given.size() + i] == given[i]);
      }
    } else {
      out = replace(20, segments_of(theirs, 20, 50, ours[19].hash, 4));
      REQUIRE(out.replaced);
      CHECK(out.view.height == 50);
    }
    auto now = f.current_chain();
    REQUIRE(now.size() == theirs.size());
    for (std::size_t i = 0; i < now.size(); ++i)
      CHECK(now[i].hash == theirs[i].hash);
    if (requeue_orphans) {
      // Our blocks 31-41 left the chain: their transactions are pending again.
      auto pending = f.ask<dlt::pending_list>(f.actors.mempool,
                                              dlt::pending_atom::value,
                                              std::uint64_t{100});
      CHECK(pending.pending == 11);
    }
  };
  for (bool requeue : {false, true})
    for (bool from_fork : {true, false})
      run(requeue, from_fork);
}
