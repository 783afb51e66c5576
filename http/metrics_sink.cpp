#include "http/metrics_sink.hpp"

namespace dlt {
namespace {

/// The label a peer's outcome counts under in dlt_peer_fetches_total: a
/// peer whose chain was not longer answered fine.
std::string_view fetch_label(const std::string& result) {
  if (result == "not_longer")
    return "ok";
  if (result == "error")
    return "other";
  return result;
}

class metrics_sink : public event_sink {
public:
  explicit metrics_sink(const metrics::node_metrics& m) : m_(m) {}

  bool offer(const event_ptr& e) override {
    const auto& ev = e->event;
    // Mempool changes count as they come (unnumbered); the hub's coalesced
    // copies of them would count twice.
    if (std::holds_alternative<mempool_changed>(ev.what) && e->id != 0)
      return true;
    std::visit([&](const auto& x) { count(x, ev); }, ev.what);
    return true;
  }

  bool wants_every_change() const override { return true; }

  std::string name() const override { return "metrics"; }

private:
  void count(const block_appended& x, const node_event& ev) {
    if (x.origin == "mined")
      m_.blocks_mined.inc();
    else
      m_.blocks_received.labels({"gossip"}).inc();
    m_.chain_height.set(static_cast<std::int64_t>(ev.height));
  }

  void count(const chain_replaced& x, const node_event& ev) {
    m_.blocks_received.labels({"consensus"}).inc(x.added);
    // A reorg drops at least one block this node held; an adoption that
    // only extends the chain is not one.
    if (x.dropped > 0) {
      m_.chain_reorgs.inc();
      m_.chain_reorg_depth.observe(static_cast<double>(x.dropped));
    }
    m_.chain_height.set(static_cast<std::int64_t>(ev.height));
  }

  void count(const block_popped&, const node_event& ev) {
    m_.chain_pops.inc();
    m_.chain_height.set(static_cast<std::int64_t>(ev.height));
  }

  void count(const mempool_changed& x, const node_event&) {
    m_.transactions_received.inc(x.added);
    m_.mempool_transactions.set(static_cast<std::int64_t>(x.pending));
  }

  void count(const peers_changed& x, const node_event&) {
    std::int64_t native = 0, up = 0;
    for (const auto& [peer, state] : x.links) {
      ++native;
      up += state == "up";
    }
    m_.peers.labels({"native"}).set(native);
    m_.peers.labels({"http"})
      .set(static_cast<std::int64_t>(x.total_nodes.size()) - native);
    m_.native_peers_linked.set(up);
  }

  void count(const consensus_finished& x, const node_event&) {
    m_.consensus_rounds.labels({x.replaced ? "replaced" : "kept"}).inc();
    m_.consensus_round_duration.observe(x.duration_s);
    if (x.hit_deadline)
      m_.consensus_rounds_at_deadline.inc();
    for (const auto& p : x.peers)
      m_.peer_fetches.labels({fetch_label(p.result)}).inc();
  }

  void count(const ledger_committed& x, const node_event&) {
    m_.storage_commit_duration.observe(x.seconds);
    m_.storage_commit_changes.observe(static_cast<double>(x.changes));
  }

  metrics::node_metrics m_;
};

} // namespace

event_sink_ptr make_metrics_sink(const metrics::node_metrics& m) {
  return std::make_shared<metrics_sink>(m);
}

} // namespace dlt
