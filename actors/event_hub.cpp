// The event hub: the node's one stream of what happened, after Bitcoin
// Core's validationinterface. Owners report acknowledged changes; the hub
// numbers them, renders each once, keeps the last ones for streams that
// reconnect, and offers each to every subscriber.
//
// A subscriber is an event_sink whose offer() never blocks and says when
// the subscriber cannot keep up; the hub then drops it with a log line. So
// a slow browser or a stuck actor costs the node a bounded queue, never
// memory without bound, and never slows the owners, which only send to
// the hub and never wait for it.
//
// Mempool changes are coalesced (at most one event per coalesce_interval);
// a pending one is emitted before any other event, so events keep the order
// in which the node went through its states.

#include <atomic>
#include <deque>

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/event_json.hpp"
#include "actors/log.hpp"
#include "actors/spawn.hpp"

namespace dlt {
namespace {

constexpr std::chrono::milliseconds coalesce_interval{100};
/// Transactions listed in one coalesced mempool event.
constexpr std::size_t recent_transactions = 20;

struct hub_state {
  hub_settings settings;
  published_chain_ptr published;
  std::uint64_t next_id = 1;
  std::deque<event_ptr> buffer; // the last events, oldest first
  std::size_t buffer_bytes = 0;
  std::vector<event_sink_ptr> sinks;
  /// A mempool change not yet emitted, and whether a flush is scheduled.
  std::optional<mempool_changed> mempool;
  bool flush_queued = false;
  std::chrono::steady_clock::time_point last_mempool_event;
  /// The state the events told so far (the mempool's newest count, and
  /// its mempool_changed::version).
  std::uint64_t pending = 0;
  std::uint64_t pending_version = 0;
  peers_changed peers;
  static inline const char* name = "event_hub";
};

using hub_ptr = event_hub_actor::stateful_pointer<hub_state>;

std::size_t record_bytes(const event_record& r) {
  return sizeof(event_record) + r.name.size() + r.data.size();
}

void offer(hub_ptr self, const event_ptr& e) {
  auto& sinks = self->state.sinks;
  for (auto it = sinks.begin(); it != sinks.end();) {
    if ((*it)->offer(e)) {
      ++it;
      continue;
    }
    log("events", "dropped subscriber ", (*it)->name(),
        ": it did not keep up (or is gone)");
    it = sinks.erase(it);
  }
}

void emit(hub_ptr self, node_event ev) {
  auto& st = self->state;
  if (auto p = std::get_if<peers_changed>(&ev.what))
    st.peers = *p;
  auto rec = std::make_shared<event_record>();
  rec->time = wall_clock_seconds();
  rec->name = event_name(ev);
  rec->data = event_data(ev);
  // Only streamed events are numbered, so a stream sees ids without gaps
  // from one event to the next.
  rec->id = rec->name.empty() ? 0 : st.next_id++;
  rec->event = std::move(ev);
  event_ptr e = std::move(rec);
  if (!e->name.empty()) { // internal events are not replayed
    // Streams replay only the rendered event: the buffer keeps that, not
    // the block or transactions the live record carries.
    auto light = std::make_shared<event_record>();
    light->id = e->id;
    light->time = e->time;
    light->name = e->name;
    light->data = e->data;
    st.buffer.push_back(std::move(light));
    st.buffer_bytes += record_bytes(*st.buffer.back());
    while (st.buffer.size() > st.settings.min_buffered_events
           && (st.buffer_bytes > st.settings.max_buffered_bytes
               || st.buffer.size() > st.settings.max_buffered_events)) {
      st.buffer_bytes -= record_bytes(*st.buffer.front());
      st.buffer.pop_front();
    }
  }
  offer(self, e);
}

/// Offers a mempool change as it comes to the sinks that want every one.
void offer_unnumbered(hub_ptr self, const mempool_changed& m) {
  event_ptr rec;
  for (const auto& sink : self->state.sinks) {
    if (!sink->wants_every_change())
      continue;
    if (!rec) {
      auto r = std::make_shared<event_record>();
      r->time = wall_clock_seconds();
      r->event = node_event{m};
      rec = std::move(r);
    }
    sink->offer(rec); // such sinks always keep up (they count)
  }
}

void flush_mempool(hub_ptr self) {
  auto& st = self->state;
  if (!st.mempool)
    return;
  node_event ev;
  ev.what = std::move(*st.mempool);
  st.mempool.reset();
  st.last_mempool_event = std::chrono::steady_clock::now();
  emit(self, std::move(ev));
}

/// The last transactions that fit an event: at most recent_transactions,
/// and max_event_transaction_bytes of them (a huge one is left out), so
/// every event stays small.
void keep_recent(tx_list& recent) {
  std::size_t bytes = 0, keep = 0;
  tx_list kept;
  for (auto it = recent.rbegin();
       it != recent.rend() && keep < recent_transactions; ++it) {
    if (bytes + it->size() > max_event_transaction_bytes)
      continue;
    bytes += it->size();
    ++keep;
    kept.push_back(std::move(*it));
  }
  recent.assign(std::make_move_iterator(kept.rbegin()),
                std::make_move_iterator(kept.rend()));
}

/// A count older than one known already (see mempool_changed::version)
/// is replaced by the known one; a newer one becomes the known one.
void newest_pending(hub_state& st, mempool_changed& change) {
  if (change.version >= st.pending_version) {
    st.pending = change.pending;
    st.pending_version = change.version;
  } else {
    change.pending = st.pending;
  }
}

void coalesce(hub_ptr self, mempool_changed change) {
  auto& st = self->state;
  if (!st.mempool) {
    st.mempool = std::move(change);
    keep_recent(st.mempool->recent);
  } else {
    auto& m = *st.mempool;
    m.pending = change.pending;
    m.added += change.added;
    m.mined += change.mined;
    m.requeued += change.requeued;
    for (auto& tx : change.recent)
      m.recent.push_back(std::move(tx));
  }
  keep_recent(st.mempool->recent);
  if (st.flush_queued)
    return;
  st.flush_queued = true;
  auto next = st.last_mempool_event + coalesce_interval;
  auto now = std::chrono::steady_clock::now();
  if (next <= now)
    self->send(self, flush_atom::value);
  else
    self->delayed_send(self, next - now, flush_atom::value);
}

node_status status(hub_ptr self) {
  auto& st = self->state;
  node_status s;
  // The last event id covers a coalesced change still held back: the
  // snapshot reports the state after it, so it is emitted first.
  flush_mempool(self);
  s.last_event_id = st.next_id - 1;
  s.chain = st.published ? st.published->load() : chain_view{};
  s.pending = st.pending;
  s.peers = st.peers;
  return s;
}

void subscribe(hub_ptr self, event_sink_ptr sink, std::uint64_t after,
               bool snapshot) {
  auto& st = self->state;
  if (!sink)
    return;
  flush_mempool(self);
  const auto& buf = st.buffer;
  bool replay = after > 0 && !buf.empty() && after + 1 >= buf.front()->id
                && after < st.next_id;
  if (replay) {
    for (const auto& e : buf)
      if (e->id > after && !sink->offer(e)) {
        log("events", "dropped subscriber ", sink->name(),
            " while replaying");
        return;
      }
  } else if (snapshot) {
    auto s = status(self);
    auto rec = std::make_shared<event_record>();
    rec->id = s.last_event_id;
    rec->time = wall_clock_seconds();
    rec->name = "snapshot";
    rec->data = snapshot_data(s, st.settings.version);
    if (!sink->offer(std::move(rec)))
      return;
  }
  st.sinks.push_back(std::move(sink));
}

event_hub_actor::behavior_type hub_behavior(hub_ptr self,
                                            published_chain_ptr published,
                                            hub_settings settings) {
  auto& st = self->state;
  st.published = std::move(published);
  st.settings = std::move(settings);
  // Ids go on increasing across restarts (a stream that reconnects to a
  // restarted node gets a snapshot, not a replay of unrelated events):
  // they start at the start time in milliseconds times a thousand, which
  // stays exact in a JavaScript number.
  st.next_id = static_cast<std::uint64_t>(wall_clock_seconds() * 1000) * 1000;
  return {
    [self](node_event& ev) {
      if (auto m = std::get_if<mempool_changed>(&ev.what)) {
        newest_pending(self->state, *m);
        offer_unnumbered(self, *m);
        return coalesce(self, std::move(*m));
      }
      // A held-back mempool change goes first, so streams see the node's
      // states in order; internal events (group commits, thousands a second
      // under load) are not streamed and do not cut the coalescing short.
      if (!event_name(ev).empty())
        flush_mempool(self);
      emit(self, std::move(ev));
    },
    [self](subscribe_atom, event_sink_ptr& sink, std::uint64_t after,
           bool snapshot) { subscribe(self, std::move(sink), after, snapshot); },
    [self](status_atom) { return status(self); },
    [self](flush_atom) {
      self->state.flush_queued = false;
      flush_mempool(self);
    },
  };
}

/// Delivers events to a local actor; `queued` counts deliveries the actor
/// has not finished with yet (each event handed over holds a guard that
/// counts down when the actor drops it).
class actor_event_sink : public event_sink {
public:
  actor_event_sink(caf::actor_addr target, std::string name,
                   std::size_t max_queued,
                   std::function<bool(const node_event&)> wanted)
    : target_(std::move(target)),
      name_(std::move(name)),
      max_queued_(max_queued),
      wanted_(std::move(wanted)),
      queued_(std::make_shared<std::atomic<std::size_t>>(0)) {
  }

  bool offer(const event_ptr& e) override {
    auto handle = caf::actor_cast<caf::actor>(target_);
    if (!handle)
      return false; // the subscriber is gone
    if (e->name == "snapshot" || (wanted_ && !wanted_(e->event)))
      return true;
    if (queued_->load(std::memory_order_relaxed) >= max_queued_)
      return false;
    struct guarded {
      guarded(event_ptr ev, std::shared_ptr<std::atomic<std::size_t>> q)
        : event(std::move(ev)), queued(std::move(q)) {
        queued->fetch_add(1, std::memory_order_relaxed);
      }
      ~guarded() { queued->fetch_sub(1, std::memory_order_relaxed); }
      event_ptr event;
      std::shared_ptr<std::atomic<std::size_t>> queued;
    };
    auto holder = std::make_shared<guarded>(e, queued_);
    caf::anon_send(handle, event_ptr(holder, holder->event.get()));
    return true;
  }

  std::string name() const override { return name_; }

private:
  caf::actor_addr target_;
  std::string name_;
  std::size_t max_queued_;
  std::function<bool(const node_event&)> wanted_;
  std::shared_ptr<std::atomic<std::size_t>> queued_;
};

} // namespace

event_hub_actor spawn_event_hub(caf::actor_system& sys,
                                published_chain_ptr published,
                                hub_settings settings) {
  return sys.spawn(hub_behavior, std::move(published), std::move(settings));
}

event_sink_ptr make_actor_sink(const caf::actor& target, std::string name,
                               std::function<bool(const node_event&)> wanted,
                               std::size_t max_queued) {
  return std::make_shared<actor_event_sink>(target.address(), std::move(name),
                                            max_queued, std::move(wanted));
}

} // namespace dlt
